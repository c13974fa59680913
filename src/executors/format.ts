/** A duration for executor messages and try logs: "250 ms", "12.5 s", "3.25 min". */
export const fmtMs = (ms: number): string => (ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${+(ms / 1000).toFixed(3)} s` : `${+(ms / 60_000).toFixed(2)} min`);
