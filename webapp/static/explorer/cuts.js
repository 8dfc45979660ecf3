// The row and column cuts through a pinned pixel, plotted with uPlot.

const plots = new WeakMap();

/** Plot one cut (the JSON of cut.json) in `box`, with a marker line at `at`. */
export function drawCut(box, cut, at) {
  const along = cut.x || cut.y;
  const values = cut.value.map(Number);
  const name = cut.axis === "row" ? `row y = ${cut.index}` : `column x = ${cut.index}`;
  plots.get(box)?.destroy();
  const options = {
    title: `${cut.ext},${cut.extver} ${name}`,
    width: Math.max(240, box.clientWidth || 320),
    height: 150,
    legend: { show: false },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: false } },
    axes: [{ label: cut.axis === "row" ? "x" : "y", size: 30 }, { size: 60 }],
    series: [{}, { stroke: "#1f6fb2", width: 1, points: { show: false } }],
    hooks: {
      draw: [(u) => {
        const left = u.valToPos(at, "x", true);
        const context = u.ctx;
        context.save();
        context.strokeStyle = "#ff2d55";
        context.beginPath();
        context.moveTo(left, u.bbox.top);
        context.lineTo(left, u.bbox.top + u.bbox.height);
        context.stroke();
        context.restore();
      }],
    },
  };
  const plot = new uPlot(options, [along, values], box);
  plots.set(box, plot);
  box.dataset.index = String(cut.index);
  box.dataset.points = String(values.length);
}
