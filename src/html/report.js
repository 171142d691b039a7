// Filters a trace table by host, kind and text. The query string can preset
// the filters (report.html?host=server&kind=send&text=RST), so a link can
// point at one part of a trace.
(function () {
  'use strict';
  var query = new URLSearchParams(window.location.search);

  function apply(form) {
    var table = document.getElementById(form.dataset.table);
    var host = form.elements.host.value;
    var kind = form.elements.kind.value;
    var text = form.elements.text.value.trim().toLowerCase();
    var rows = table.tBodies[0].rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!host || r.dataset.host === host) &&
        (!kind || r.dataset.kind === kind) &&
        (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.hidden = !ok;
      if (ok) { shown++; }
    }
    form.querySelector('output').textContent =
      shown === rows.length ? rows.length + ' entries' : shown + ' of ' + rows.length + ' entries';
  }

  var forms = document.querySelectorAll('form.filter');
  for (var i = 0; i < forms.length; i++) {
    var form = forms[i];
    ['host', 'kind', 'text'].forEach(function (name) {
      var v = query.get(name);
      if (v !== null) { form.elements[name].value = v; }
    });
    form.addEventListener('input', function (e) { apply(e.currentTarget); });
    form.addEventListener('submit', function (e) { e.preventDefault(); });
    apply(form);
  }
})();
