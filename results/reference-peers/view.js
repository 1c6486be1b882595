// Draws the charts of a bench run in the browser, from the chart.js configurations the
// bench embedded in index.html (the same ones it rendered to PNG). Plain script, no build.
/* global Chart */
(() => {
  // The hint under a table wider than the window, kept true as the window changes.
  var table = document.querySelector('.table');
  var hint = document.querySelector('.scroll-hint');
  var showHint = () => {
    if (table && hint) hint.hidden = table.scrollWidth <= table.clientWidth;
  };
  showHint();
  window.addEventListener('resize', showHint);
  var source = document.getElementById('charts');
  if (!source || typeof Chart === 'undefined') return;
  Chart.defaults.color = '#1c2833';
  var charts = JSON.parse(source.textContent || '[]');
  var whiteBackground = {
    id: 'whiteBackground',
    beforeDraw: (chart) => {
      chart.ctx.save();
      chart.ctx.fillStyle = '#ffffff';
      chart.ctx.fillRect(0, 0, chart.width, chart.height);
      chart.ctx.restore();
    },
  };
  // The same as cell-labels.ts: text in the middle of each bar, from the chart's options.
  Chart.register({
    id: 'cellLabels',
    afterDatasetsDraw: (chart, _args, options) => {
      if (!options?.lines) return;
      var ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = '#17202a';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.font = '13px sans-serif';
      options.lines.forEach((perBar, datasetIndex) => {
        var bars = chart.getDatasetMeta(datasetIndex).data;
        perBar.forEach((lines, index) => {
          var bar = bars[index];
          if (!bar) return;
          lines.forEach((line, n) => {
            ctx.fillText(line, (bar.x + bar.base) / 2, bar.y + (n - (lines.length - 1) / 2) * 16);
          });
        });
      });
      ctx.restore();
    },
  });
  // The same as log-ticks.ts: only 1, 2 and 5 × 10ⁿ on a log axis, so labels never overprint.
  Chart.register({
    id: 'logTicks',
    afterBuildTicks: (_chart, args) => {
      var scale = args.scale;
      if (scale.type !== 'logarithmic' || scale.max / scale.min <= 10) return;
      scale.ticks = scale.ticks.filter((tick) => {
        var mantissa = tick.value / 10 ** Math.floor(Math.log10(tick.value) + 1e-9);
        return [1, 2, 5].some((kept) => Math.abs(mantissa - kept) < 1e-6);
      });
    },
  });
  charts.forEach((item) => {
    var canvas = document.querySelector(`canvas[data-chart="${item.name}"]`);
    if (!canvas) return;
    item.config.options = Object.assign({}, item.config.options, {
      responsive: true,
      maintainAspectRatio: true,
      aspectRatio: 16 / 9,
    });
    item.config.plugins = [whiteBackground];
    new Chart(canvas, item.config);
  });
})();
