/**
 * Usage graphs on the status page: each container's CPU and memory against its limit,
 * and the pod's network, over the last hour (or 6 or 24 hours), from
 * `GET /k8s/monitor/history`. Small hand-written SVG: a line per series, a dashed line
 * for the limit, the latest value in words for screen readers.
 */
import { type Api, call, errorText } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import type { Session } from '../store.js';

/** [unix seconds, value] (the SDK types the pair as a plain array). */
type Point = number[];
type History = Awaited<ReturnType<typeof load>>;

const RANGES = [
  { minutes: 60, label: '1 h' },
  { minutes: 360, label: '6 h' },
  { minutes: 1440, label: '24 h' },
];
const REFRESH_MS = 30_000;

function load(api: Api, minutes: number) {
  return call(api.GET('/api/v1/k8s/monitor/history', { params: { query: { minutes: String(minutes) } } }));
}

export function usagePanel(session: Session): { el: HTMLElement; dispose(): void } {
  const charts = h('div', { class: 'charts' });
  const note = h('p', { class: 'hint', role: 'status' });
  let minutes = 60;
  let stopped = false;
  const buttons = RANGES.map((r) => {
    const b = h('button', { type: 'button', class: 'secondary small', 'aria-pressed': String(r.minutes === minutes), 'data-minutes': r.minutes }, r.label);
    b.addEventListener('click', () => {
      minutes = r.minutes;
      for (const x of buttons) x.setAttribute('aria-pressed', String(x === b));
      void refresh();
    });
    return b;
  });

  async function refresh(): Promise<void> {
    try {
      const view = await load(session.api, minutes);
      if (stopped) return;
      paint(view);
    } catch (err) {
      if (!stopped) note.textContent = `Could not load usage: ${errorText(err)}`;
    }
  }

  function paint(view: History): void {
    const any = view.containers.some((c) => c.cpu.length || c.memory.length) || view.network.download.length;
    note.textContent = any
      ? `Sampled every ${view.intervalSeconds} s while the pod runs; kept ${view.retentionHours} h.`
      : `No samples yet: V-Kube samples the running pod every ${view.intervalSeconds} s; the first appear within a minute.`;
    replaceChildren(
      charts,
      view.containers.flatMap((c) => [
        chart({ title: `${c.name}: CPU`, from: view.from, to: view.to, series: [{ label: 'CPU', points: c.cpu, kind: 'a' }], limit: c.limits.cpu, format: cpuText }),
        chart({ title: `${c.name}: memory`, from: view.from, to: view.to, series: [{ label: 'memory', points: c.memory, kind: 'a' }], limit: c.limits.memory, format: bytesText }),
      ]),
      chart({
        title: 'Network',
        from: view.from,
        to: view.to,
        series: [
          { label: 'in', points: view.network.download, kind: 'a' },
          { label: 'out', points: view.network.upload, kind: 'b' },
        ],
        format: (v) => `${bytesText(v)}/s`,
      }),
    );
  }

  void refresh();
  const timer = window.setInterval(() => document.visibilityState === 'visible' && void refresh(), REFRESH_MS);
  const el = h(
    'section',
    { class: 'card usage', 'aria-labelledby': 'usage-title' },
    h('h2', { id: 'usage-title' }, 'Usage'),
    h('div', { class: 'button-row', role: 'group', 'aria-label': 'Time range' }, buttons),
    note,
    charts,
  );
  return {
    el,
    dispose() {
      stopped = true;
      window.clearInterval(timer);
    },
  };
}

interface ChartInput {
  title: string;
  from: number;
  to: number;
  series: Array<{ label: string; points: Point[]; kind: 'a' | 'b' }>;
  limit?: number;
  format: (v: number) => string;
}

const W = 600;
const H = 150;
const PAD = { left: 8, right: 8, top: 10, bottom: 18 };

/** One small line chart; the y axis runs from 0 to the larger of the limit and the highest value. */
function chart(input: ChartInput): HTMLElement {
  const values = input.series.flatMap((s) => s.points.map((p) => p[1] ?? 0));
  const top = Math.max(input.limit ?? 0, ...values, 1e-9) * 1.08;
  const x = (t: number) => PAD.left + ((t - input.from) / Math.max(1, input.to - input.from)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const latest = input.series.map((s) => (s.points.length ? `${s.label} ${input.format(s.points.at(-1)![1] ?? 0)}` : `${s.label}: no data`)).join(', ');
  const words = `${input.title}: ${latest}${input.limit ? `; limit ${input.format(input.limit)}` : ''}`;

  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': words, class: 'chart' });
  svg.append(svgEl('rect', { x: 0, y: 0, width: W, height: H, class: 'chart-bg' }));
  svg.append(svgEl('line', { x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0), class: 'chart-axis' }));
  if (input.limit) {
    svg.append(svgEl('line', { x1: PAD.left, x2: W - PAD.right, y1: y(input.limit), y2: y(input.limit), class: 'chart-limit' }));
    const label = svgEl('text', { x: W - PAD.right - 4, y: y(input.limit) - 4, 'text-anchor': 'end', class: 'chart-label' });
    label.textContent = `limit ${input.format(input.limit)}`;
    svg.append(label);
  }
  for (const s of input.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0] ?? 0).toFixed(1)},${y(p[1] ?? 0).toFixed(1)}`).join(' ');
    svg.append(svgEl('path', { d, class: `chart-line chart-${s.kind}` }));
    // A lone sample is a dot, not an invisible line.
    if (s.points.length === 1) svg.append(svgEl('circle', { cx: x(s.points[0]![0] ?? 0), cy: y(s.points[0]![1] ?? 0), r: 3, class: `chart-dot chart-${s.kind}` }));
  }
  for (const [t, anchor] of [
    [input.from, 'start'],
    [input.to, 'end'],
  ] as const) {
    const label = svgEl('text', { x: anchor === 'start' ? PAD.left : W - PAD.right, y: H - 4, 'text-anchor': anchor, class: 'chart-label' });
    label.textContent = new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    svg.append(label);
  }
  return h('figure', { class: 'chart-box', 'data-chart': input.title }, h('figcaption', null, h('strong', null, input.title), ' ', h('span', { class: 'hint' }, latest)), svg);
}

function svgEl(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function cpuText(cores: number): string {
  return cores >= 1 ? `${cores.toFixed(2)} cores` : `${Math.round(cores * 1000)}m`;
}

function bytesText(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}
