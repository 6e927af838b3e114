/** Reading one sample of a running process's /metrics, for tests that check a metric moved. */
import { parsePromText } from '../../regions/ops/prom-text.ts';

/** The value of the first sample of `name` whose labels include `labels` (0 when absent). */
export async function metricValue(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const sample = parsePromText(await res.text()).find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return sample?.value ?? 0;
}
