/**
 * The script of a report page (browser JavaScript, run as it is). It builds every element from the inlined page
 * model with createElement and textContent, never innerHTML: the model holds what containers wrote. Each uPlot
 * chart is kept in window.__crmlCharts, so a test (or a curious user) can read what was drawn.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('crml-data').textContent);
  var root = document.getElementById('crml-page');
  var charts = (window.__crmlCharts = []);
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  document.title = model.title;
  root.appendChild(el('h1', model.title));
  root.appendChild(el('p', model.subtitle, 'subtitle'));
  var width = Math.max(320, Math.min(1000, root.clientWidth || 1000));
  model.sections.forEach(function (s) {
    var section = el('section');
    section.appendChild(el('h2', s.title));
    root.appendChild(section);
    if (s.type === 'table') {
      if (s.rows.length === 0) { section.appendChild(el('p', '(none)', 'empty')); return; }
      var table = el('table');
      if (s.head) {
        var tr = el('tr');
        s.head.forEach(function (h) { tr.appendChild(el('th', h)); });
        table.appendChild(tr);
      }
      s.rows.forEach(function (row) {
        var tr = el('tr');
        row.forEach(function (cell, i) { tr.appendChild(el(i === 0 ? 'th' : 'td', cell)); });
        table.appendChild(tr);
      });
      section.appendChild(table);
    } else if (s.type === 'list') {
      if (s.items.length === 0) { section.appendChild(el('p', '(none)', 'empty')); return; }
      var ul = el('ul');
      s.items.forEach(function (item) { ul.appendChild(el('li', item)); });
      section.appendChild(ul);
    } else if (s.type === 'log') {
      section.appendChild(s.lines.length ? el('pre', s.lines.join('\n')) : el('p', '(no lines)', 'empty'));
    } else if (s.type === 'charts') {
      if (s.charts.length === 0) { section.appendChild(el('p', '(no metric data points)', 'empty')); return; }
      s.charts.forEach(function (c) {
        var div = el('div', undefined, 'chart');
        section.appendChild(div);
        var opts = {
          title: c.title,
          width: width,
          height: 280,
          scales: { x: { time: false } },
          axes: [{ label: c.xLabel }, {}],
          series: [{ label: 'seconds' }].concat(c.series.map(function (sr) {
            return { label: sr.label, stroke: sr.color, width: 2, spanGaps: true };
          })),
        };
        var chart = new uPlot(opts, [c.x].concat(c.ys), div);
        charts.push({ title: c.title, chart: chart });
      });
    }
  });
  window.__crmlReady = true;
})();
`;
