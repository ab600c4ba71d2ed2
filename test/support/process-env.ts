/**
 * Runs `work` with `variables` set in `process.env` (`undefined` unsets one), then puts every one
 * of them back as it was, also when `work` throws.
 */
export async function withProcessEnv<T>(variables: Readonly<Record<string, string | undefined>>, work: () => T | Promise<T>): Promise<T> {
  const saved = Object.keys(variables).map((name) => [name, process.env[name]] as const);
  for (const [name, value] of Object.entries(variables)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await work();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
