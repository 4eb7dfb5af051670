import type { Role } from './api-route.js';

/** Adds a console page: its path, who may see it, its title, its script module (web/console/<name>.js) and its HTML. */
export type AddPage = (path: string, role: Role, title: string, name: string, body: string) => void;
/** A page whose HTML depends on the path's parameters (escape them). */
export type AddParamPage = (
  path: string,
  role: Role,
  title: string,
  name: string,
  body: (params: Record<string, string>) => string,
) => void;
