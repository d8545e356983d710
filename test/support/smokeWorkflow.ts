/** The smallest workflow: proves a worker and the server talk. */
export async function echo(value: string): Promise<string> {
  return value;
}
