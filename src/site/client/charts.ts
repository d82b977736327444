/** Dashboard charts (chart.js), drawn from the JSON the page embeds. No animation: prints and screenshots show final bars. */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

interface MoneyJson {
  value: string;
  text: string;
}
interface DashboardData {
  currency: string;
  periods: string[];
  bySource: { source: string; values: MoneyJson[] }[];
  subsidy: { source: string; list: MoneyJson; amount: MoneyJson }[];
  topPis: { name: string; amount: MoneyJson }[];
  piTrend: { name: string; values: MoneyJson[] }[];
}

const PALETTE = ['#1f5fae', '#2a9d8f', '#e9a23b', '#b5485d', '#6c5ce7', '#5d8a3a', '#c0622f', '#4b6584'];

export function initDashboardCharts(): void {
  const el = document.getElementById('dashboard-data');
  if (!el?.textContent) return;
  const data = JSON.parse(el.textContent) as DashboardData;
  const charts: Chart<'bar' | 'line'>[] = [];
  // The palette uses light-dark(): resolve a variable to a colour through a probe element.
  const resolve = (variable: string) => {
    const probe = document.createElement('span');
    probe.style.color = `var(${variable})`;
    document.body.append(probe);
    const color = getComputedStyle(probe).color;
    probe.remove();
    return color;
  };
  const colors = () => ({ text: resolve('--text'), grid: resolve('--border') });
  // Charts plot numbers; tooltips show the exact formatted amounts from the statements.
  const plot = (m: MoneyJson) => Number(m.value);
  const make = (id: string, config: ChartConfiguration<'bar'> | ChartConfiguration<'line'>) => {
    const canvas = document.getElementById(id) as HTMLCanvasElement | null;
    if (canvas) charts.push(new Chart(canvas, config as ChartConfiguration<'bar' | 'line'>));
  };
  const { text, grid } = colors();
  const scales = (stacked: boolean, horizontal = false) => ({
    x: { stacked, ticks: { color: text }, grid: { color: grid } },
    y: { stacked, ticks: { color: text }, grid: { color: grid }, ...(horizontal ? {} : { beginAtZero: true }) },
  });
  // What every chart shares: no animation, the container's size, the theme's colours, exact amounts in tooltips.
  const options = (stacked: boolean, label: (c: { dataset: { label?: string }; datasetIndex: number; dataIndex: number }) => string) => ({
    animation: false as const,
    responsive: true,
    maintainAspectRatio: false,
    scales: scales(stacked),
    plugins: { legend: { labels: { color: text } }, tooltip: { callbacks: { label } } },
  });
  make('chart-source', {
    type: 'bar',
    data: {
      labels: data.periods,
      datasets: data.bySource.map((s, i) => ({ label: s.source, data: s.values.map(plot), backgroundColor: PALETTE[i % PALETTE.length] })),
    },
    options: options(true, (c) => `${c.dataset.label}: ${data.bySource[c.datasetIndex]?.values[c.dataIndex]?.text ?? ''}`),
  });
  make('chart-subsidy', {
    type: 'bar',
    data: {
      labels: data.subsidy.map((s) => s.source),
      datasets: [
        { label: 'List price', data: data.subsidy.map((s) => plot(s.list)), backgroundColor: '#9db4d3' },
        { label: 'Billed', data: data.subsidy.map((s) => plot(s.amount)), backgroundColor: '#1f5fae' },
      ],
    },
    options: options(false, (c) => {
      const s = data.subsidy[c.dataIndex];
      return `${c.dataset.label}: ${(c.datasetIndex === 0 ? s?.list.text : s?.amount.text) ?? ''}`;
    }),
  });
  make('chart-pi-trend', {
    type: 'line',
    data: {
      labels: data.periods,
      datasets: data.piTrend.map((p, i) => ({
        label: p.name,
        data: p.values.map(plot),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        pointRadius: data.periods.length > 24 ? 0 : 3,
      })),
    },
    options: options(false, (c) => `${c.dataset.label}: ${data.piTrend[c.datasetIndex]?.values[c.dataIndex]?.text ?? ''}`),
  });
  make('chart-pis', {
    type: 'bar',
    data: {
      labels: data.topPis.map((p) => p.name),
      datasets: [{ label: `Amount due (${data.currency})`, data: data.topPis.map((p) => plot(p.amount)), backgroundColor: '#2a9d8f' }],
    },
    options: {
      animation: false,
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      scales: scales(false, true),
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => data.topPis[c.dataIndex]?.amount.text ?? '' } } },
    },
  });
  document.addEventListener('ocb-theme', () => {
    const c = colors();
    for (const chart of charts) {
      for (const axis of Object.values(chart.options.scales ?? {})) {
        if (axis?.ticks) axis.ticks.color = c.text;
        if (axis?.grid) axis.grid.color = c.grid;
      }
      if (chart.options.plugins?.legend?.labels) chart.options.plugins.legend.labels.color = c.text;
      chart.update();
    }
  });
}
