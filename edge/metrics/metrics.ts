/**
 * A tiny Prometheus registry rendering the text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), web-standard only so
 * the edge can serve `/metrics` on any runtime. The sample line, as the format defines it:
 *
 *   metric_name [
 *     "{" label_name "=" `"` label_value `"` { "," label_name "=" `"` label_value `"` } [ "," ] "}"
 *   ] value [ timestamp ]
 *
 * "label_value can be any sequence of UTF-8 characters, but the backslash, the double-quote,
 * and the line-feed characters have to be escaped as `\\`, `\"`, and `\n`, respectively."
 * HELP text escapes backslash and line feed only. Histogram buckets are cumulative, in
 * increasing `le` order, ending with `le="+Inf"` equal to `_count`.
 */

/** Content-Type of the text this registry renders. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label values by label name. */
export type Labels<L extends string = string> = Readonly<Record<L, string | number>>;

/** A monotonically increasing count. */
export interface Counter<L extends string = string> {
  inc(labels?: Labels<L>, by?: number): void;
  /** `inc` for one fixed label set, its series resolved once: for hot paths. */
  bind(labels?: Labels<L>): (by?: number) => void;
}

/** A value that goes up and down. */
export interface Gauge<L extends string = string> {
  set(labels: Labels<L> | undefined, value: number): void;
  inc(labels?: Labels<L>, by?: number): void;
  dec(labels?: Labels<L>, by?: number): void;
}

/** Observations counted into fixed buckets. */
export interface Histogram<L extends string = string> {
  observe(labels: Labels<L> | undefined, value: number): void;
  /** `observe` for one fixed label set, its series resolved once: for hot paths. */
  bind(labels?: Labels<L>): (value: number) => void;
  /** Starts a timer; calling the result observes the elapsed seconds (labels may be completed at the end). */
  startTimer(labels?: Partial<Labels<L>>): (extra?: Partial<Labels<L>>) => number;
}

/** Declaration shared by all metric kinds. */
export interface MetricOptions<L extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

/** One sample of a collected metric: its labels and value. */
export type Sample<L extends string = string> = readonly [labels: Labels<L> | undefined, value: number];

/** Declaration of a collected metric: a counter or a gauge. */
export interface CollectedOptions<L extends string = string> extends MetricOptions<L> {
  readonly type: 'counter' | 'gauge';
}

/** A set of metrics rendered together. */
export interface Registry {
  counter<L extends string = never>(opts: MetricOptions<L>): Counter<L>;
  gauge<L extends string = never>(opts: MetricOptions<L>): Gauge<L>;
  histogram<L extends string = never>(opts: MetricOptions<L> & { readonly buckets?: readonly number[] }): Histogram<L>;
  /**
   * A metric whose samples are read when the registry renders: a count kept elsewhere (a
   * component's own stats) or a value measured at scrape time. `samples` must be cheap and sync.
   */
  collect<L extends string = never>(opts: CollectedOptions<L>, samples: () => Iterable<Sample<L>>): void;
  /** The whole registry in the text format, ending with a line feed. */
  render(): string;
}

/** Prometheus' default buckets, in seconds: fine for HTTP latencies. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Labels starting with __ are reserved for Prometheus' own use.
const RESERVED_LABEL = /^__/;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's ParseFloat spellings for the special values; everything else as JavaScript prints it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  lines(): string[];
}

function checkDeclaration(opts: MetricOptions, extraReserved: readonly string[] = []): readonly string[] {
  if (!METRIC_NAME.test(opts.name)) throw new TypeError(`invalid metric name "${opts.name}"`);
  const labelNames = opts.labelNames ?? [];
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || RESERVED_LABEL.test(label) || extraReserved.includes(label)) {
      throw new TypeError(`invalid label name "${label}" on ${opts.name}`);
    }
  }
  if (new Set(labelNames).size !== labelNames.length) throw new TypeError(`duplicate label name on ${opts.name}`);
  return labelNames;
}

/** Builds a series key and its rendered label set, rejecting labels not declared. */
function seriesOf(name: string, labelNames: readonly string[], labels: Partial<Labels> | undefined): string {
  if (labels !== undefined) {
    for (const key of Object.keys(labels)) {
      if (!labelNames.includes(key)) throw new TypeError(`label "${key}" is not declared on ${name}`);
    }
  }
  return labelNames.map((l) => `${l}="${escapeLabelValue(String(labels?.[l] ?? ''))}"`).join(',');
}

function sampleLine(name: string, series: string, value: number): string {
  return `${name}${series === '' ? '' : `{${series}}`} ${formatValue(value)}`;
}

function withLabel(series: string, label: string): string {
  return series === '' ? label : `${series},${label}`;
}

function checkAmount(name: string, by: number): void {
  if (!Number.isFinite(by) || by < 0) throw new RangeError(`${name}: a counter only goes up (got ${by})`);
}

interface HistogramSeries {
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Creates an empty registry. */
export function createRegistry(): Registry {
  const families = new Map<string, Family>();

  function register(family: Family): void {
    if (families.has(family.name)) throw new TypeError(`metric ${family.name} is already registered`);
    families.set(family.name, family);
  }

  function counter<L extends string = never>(opts: MetricOptions<L>): Counter<L> {
    const labelNames = checkDeclaration(opts);
    const values = new Map<string, number>();
    // A metric without labels has one series from the start, so it renders as 0 before the first event.
    if (labelNames.length === 0) values.set('', 0);
    register({
      name: opts.name,
      help: opts.help,
      type: 'counter',
      lines: () => [...values].map(([series, value]) => sampleLine(opts.name, series, value)),
    });
    return {
      inc(labels, by = 1) {
        checkAmount(opts.name, by);
        const series = seriesOf(opts.name, labelNames, labels);
        values.set(series, (values.get(series) ?? 0) + by);
      },
      bind(labels) {
        const series = seriesOf(opts.name, labelNames, labels);
        if (!values.has(series)) values.set(series, 0);
        return (by = 1) => {
          checkAmount(opts.name, by);
          values.set(series, (values.get(series) as number) + by);
        };
      },
    };
  }

  function gauge<L extends string = never>(opts: MetricOptions<L>): Gauge<L> {
    const labelNames = checkDeclaration(opts);
    const values = new Map<string, number>();
    if (labelNames.length === 0) values.set('', 0);
    register({
      name: opts.name,
      help: opts.help,
      type: 'gauge',
      lines: () => [...values].map(([series, value]) => sampleLine(opts.name, series, value)),
    });
    const add = (labels: Labels<L> | undefined, by: number) => {
      const series = seriesOf(opts.name, labelNames, labels);
      values.set(series, (values.get(series) ?? 0) + by);
    };
    return {
      set(labels, value) {
        values.set(seriesOf(opts.name, labelNames, labels), value);
      },
      inc: (labels, by = 1) => add(labels, by),
      dec: (labels, by = 1) => add(labels, -by),
    };
  }

  function histogram<L extends string = never>(
    opts: MetricOptions<L> & { readonly buckets?: readonly number[] },
  ): Histogram<L> {
    const labelNames = checkDeclaration(opts, ['le']);
    const bounds = [...(opts.buckets ?? DEFAULT_BUCKETS)].filter((b) => b !== Number.POSITIVE_INFINITY);
    if (
      bounds.length === 0 ||
      bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] as number)))
    ) {
      throw new TypeError(`${opts.name}: buckets must be finite and strictly increasing`);
    }
    const series = new Map<string, HistogramSeries>();
    const fresh = (): HistogramSeries => ({ counts: bounds.map(() => 0), sum: 0, count: 0 });
    if (labelNames.length === 0) series.set('', fresh());

    function lines(): string[] {
      const out: string[] = [];
      for (const [labels, s] of series) {
        // Stored per bucket; rendered cumulatively, as the format requires.
        let cumulative = 0;
        bounds.forEach((bound, i) => {
          cumulative += s.counts[i] as number;
          out.push(sampleLine(`${opts.name}_bucket`, withLabel(labels, `le="${formatValue(bound)}"`), cumulative));
        });
        out.push(sampleLine(`${opts.name}_bucket`, withLabel(labels, 'le="+Inf"'), s.count));
        out.push(sampleLine(`${opts.name}_sum`, labels, s.sum));
        out.push(sampleLine(`${opts.name}_count`, labels, s.count));
      }
      return out;
    }
    register({ name: opts.name, help: opts.help, type: 'histogram', lines });

    function seriesFor(labels: Partial<Labels<L>> | undefined): HistogramSeries {
      const key = seriesOf(opts.name, labelNames, labels);
      let s = series.get(key);
      if (s === undefined) {
        s = fresh();
        series.set(key, s);
      }
      return s;
    }

    function record(s: HistogramSeries, value: number): void {
      if (Number.isNaN(value)) return;
      const index = bounds.findIndex((b) => value <= b);
      if (index !== -1) s.counts[index] = (s.counts[index] as number) + 1;
      s.sum += value;
      s.count += 1;
    }

    function observe(labels: Partial<Labels<L>> | undefined, value: number): void {
      if (Number.isNaN(value)) return;
      record(seriesFor(labels), value);
    }

    return {
      observe,
      bind(labels) {
        const s = seriesFor(labels);
        return (value) => record(s, value);
      },
      startTimer(labels) {
        const started = performance.now();
        return (extra) => {
          const seconds = (performance.now() - started) / 1000;
          observe({ ...labels, ...extra }, seconds);
          return seconds;
        };
      },
    };
  }

  function collect<L extends string = never>(opts: CollectedOptions<L>, samples: () => Iterable<Sample<L>>): void {
    const labelNames = checkDeclaration(opts);
    register({
      name: opts.name,
      help: opts.help,
      type: opts.type,
      lines: () => {
        const out: string[] = [];
        for (const [labels, value] of samples()) {
          if (opts.type === 'counter') checkAmount(opts.name, value);
          out.push(sampleLine(opts.name, seriesOf(opts.name, labelNames, labels), value));
        }
        return out;
      },
    });
  }

  function render(): string {
    const out: string[] = [];
    for (const family of families.values()) {
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      out.push(...family.lines());
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  return { counter, gauge, histogram, collect, render };
}
