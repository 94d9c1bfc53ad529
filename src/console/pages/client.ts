/**
 * The pages' only script, inlined: shows one section of the report by its #anchor, draws the
 * uPlot charts from the JSON beside them once their section is visible, filters the grid's rows
 * by job and kind, and copies commands. Plain ES2017, no template literals (it lives in one).
 */
export const CLIENT_JS = String.raw`
(function () {
  var report = document.body.classList.contains('report');
  function drawCharts(root) {
    var specs = root.querySelectorAll('script[data-chart]');
    for (var i = 0; i < specs.length; i++) {
      var el = specs[i];
      if (el.getAttribute('data-drawn')) continue;
      var box = document.getElementById(el.getAttribute('data-chart'));
      if (!box || box.offsetParent === null) continue;
      el.setAttribute('data-drawn', '1');
      var spec = JSON.parse(el.textContent);
      if (!spec.x.length) continue;
      var series = [{}];
      var data = [spec.x];
      spec.series.forEach(function (s) {
        series.push({ label: s.label, stroke: s.colour, width: s.dash ? 1 : 2, dash: s.dash ? [4, 4] : undefined, fill: s.fill, points: { show: spec.x.length < 60 } });
        data.push(s.values);
      });
      var opts = {
        width: Math.max(320, box.clientWidth - 12), height: spec.height || 220, title: spec.title,
        series: series,
        axes: [{}, { label: spec.unit || '', size: 70 }],
        scales: { x: { time: true } }
      };
      if (spec.band) opts.bands = [{ series: spec.band, fill: 'rgba(46,158,91,0.12)' }];
      box.innerHTML = '';
      new uPlot(opts, data, box);
      box.setAttribute('data-charted', '1');
    }
  }
  function show() {
    if (!report) { drawCharts(document); return; }
    var hash = decodeURIComponent(location.hash.slice(1)) || 'partitions';
    var target = document.getElementById(hash);
    var page = target && (target.classList.contains('page') ? target : target.closest('section.page'));
    if (!page) page = document.getElementById('partitions');
    var pages = document.querySelectorAll('section.page');
    for (var i = 0; i < pages.length; i++) pages[i].classList.toggle('shown', pages[i] === page);
    var links = document.querySelectorAll('header.top nav a');
    for (var j = 0; j < links.length; j++) links[j].classList.toggle('on', links[j].getAttribute('href') === '#' + page.getAttribute('data-nav'));
    if (target && target !== page && target.tagName === 'DETAILS') target.open = true;
    // after the browser's own jump to the anchor: a page starts at its top, a run at its entry
    setTimeout(function () { if (target && target !== page) target.scrollIntoView(); else window.scrollTo(0, 0); }, 0);
    drawCharts(page);
  }
  window.addEventListener('hashchange', show);
  document.addEventListener('toggle', function () { drawCharts(document); }, true);
  show();
  function filterGrid() {
    var job = (document.getElementById('f-job') || {}).value || '';
    var kind = (document.getElementById('f-kind') || {}).value || '';
    var rows = document.querySelectorAll('tr[data-job]');
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = r.getAttribute('data-job').indexOf(job) >= 0 && (!kind || r.getAttribute('data-kind') === kind);
      r.style.display = ok ? '' : 'none';
    }
  }
  // in the report the filters work in the page: a submitted form would only reload the file
  var form = document.querySelector('form.filters');
  if (report && form) form.addEventListener('submit', function (e) { e.preventDefault(); filterGrid(); });
  ['f-job', 'f-kind'].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { el.addEventListener('input', filterGrid); el.addEventListener('change', filterGrid); }
  });
  filterGrid();
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button[data-copy]');
    if (!b) return;
    e.preventDefault();
    var text = b.getAttribute('data-copy');
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(function () { b.textContent = 'copied'; }, function () {});
  });
})();
`
