// The per-step chart: halting probability and confidence (and a codec model's label
// probability) against the ACT step, with the step on show marked, and a click on the plot
// picking that step. uPlot comes from the
// installed npm package, served by trm serve at /vendor/uplot/.
import uPlot from '/vendor/uplot/uPlot.esm.js';

function width(container) {
  return Math.max(280, Math.min(container.clientWidth || 600, 900));
}

/** `stop` labels the last step: why the run stopped there (the result's stoppedBy). */
export function traceChart(container, trace, { current, stop, onPick }) {
  container.replaceChildren();
  const steps = trace.map((s) => s.step);
  const data = [steps, trace.map((s) => s.haltProbability), trace.map((s) => s.confidence)];
  // A codec model's steps also carry the probability of the label they held.
  const labelled = trace.every((s) => typeof s.labelProbability === 'number');
  if (labelled) data.push(trace.map((s) => s.labelProbability));
  let marked = current;
  const opts = {
    width: width(container),
    height: 220,
    scales: { x: { time: false, range: [Math.min(...steps) - 0.25, Math.max(...steps) + 0.25] }, y: { range: [0, 1] } },
    axes: [
      { label: 'ACT step', incrs: [1, 2, 5, 10], values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) },
      { label: 'probability' },
    ],
    series: [
      { label: 'step' },
      { label: 'p(halt)', stroke: '#c2410c', width: 2, points: { show: true, size: 7 }, value: (_u, v) => (v == null ? '-' : v.toFixed(3)) },
      { label: 'confidence', stroke: '#1d4ed8', width: 2, dash: [6, 3], points: { show: true, size: 7 }, value: (_u, v) => (v == null ? '-' : v.toFixed(3)) },
      ...(labelled ? [{ label: 'label probability', stroke: '#15803d', width: 2, dash: [2, 3], points: { show: true, size: 7 }, value: (_u, v) => (v == null ? '-' : v.toFixed(3)) }] : []),
    ],
    hooks: {
      draw: [(u) => {
        const x = Math.round(u.valToPos(marked, 'x', true));
        const { ctx } = u;
        ctx.save();
        ctx.strokeStyle = 'rgba(0,0,0,0.35)';
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        if (stop) {
          // The step where the run stopped, and why, over the last point.
          const last = Math.round(u.valToPos(steps[steps.length - 1], 'x', true));
          ctx.fillStyle = '#57606a';
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.textAlign = 'right';
          ctx.fillText(`stopped: ${stop}`, last - 4 * devicePixelRatio, u.bbox.top + u.bbox.height - 6 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
  const chart = new uPlot(opts, data, container);
  chart.over.addEventListener('click', () => {
    const idx = chart.cursor.idx;
    if (idx != null) onPick(steps[idx]);
  });
  // uPlot fills its legend once after it first draws; show the marked step's values after that.
  requestAnimationFrame(() => chart.setLegend({ idx: Math.max(0, steps.indexOf(marked)) }));
  const resize = () => chart.setSize({ width: width(container), height: 220 });
  window.addEventListener('resize', resize);
  return {
    chart,
    mark(step) {
      marked = step;
      // The legend shows the marked step's values while the pointer is elsewhere.
      chart.setLegend({ idx: Math.max(0, steps.indexOf(step)) });
      chart.redraw(false);
    },
    destroy() {
      window.removeEventListener('resize', resize);
      chart.destroy();
    },
  };
}
