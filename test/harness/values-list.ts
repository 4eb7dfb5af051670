/** A statement of about `bytes` bytes: `head` then a VALUES list of (int, text) rows. */
export function valuesList(bytes: number, head: string): string {
  const rows: string[] = [];
  let n = head.length;
  for (let i = 0; n < bytes; i++) {
    const row = `(${i},'row ${i}')`;
    rows.push(row);
    n += row.length + 1;
  }
  return head + rows.join(',');
}
