/** Letters, digits, _, $ and non-ASCII: what continues an identifier or keyword (scan.l ident_cont). */
export function isIdentChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  const x = c.charCodeAt(0);
  return (x >= 97 && x <= 122) || (x >= 65 && x <= 90) || (x >= 48 && x <= 57) || x === 95 || x === 36 || x >= 0x80;
}
