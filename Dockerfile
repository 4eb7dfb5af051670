# pgward gateway image: build once, run with a config file and secrets from the environment.
# Node 22 LTS: oidc-provider and two other dependencies ask for it in production (the
# gateway itself is also tested on Node 20, the floor in package.json's engines).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=optional
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY src/store/migrations ./src/store/migrations
COPY web ./web
COPY policies /etc/pgward/policies
RUN mkdir -p /var/lib/pgward/certs && chown -R node:node /var/lib/pgward
USER node
EXPOSE 6432 8432
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8432/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["--config", "/etc/pgward/pgward.yaml", "start"]
