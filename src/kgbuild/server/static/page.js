// The query page: YASGUI (served from this server, no CDN) on /sparql, with the named queries as examples.
(function () {
  "use strict";
  // Only completions that need no outside service (LOV and prefix.cc would be called from the browser).
  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: new URL("/sparql", window.location.href).href, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return []; } },
    persistenceId: null,
  });
  window.kgbuildYasgui = yasgui;

  // A result's link to one of the store's IRIs goes to this server, wherever it listens: the IRI's host
  // and port are the ones the store was built with, which need not be this server's.
  var base = document.getElementById("yasgui").dataset.base || "";
  function here(event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (link && base && link.href.indexOf(base + "id/") === 0) {
      link.href = new URL("/" + link.href.slice(base.length), window.location.href).href;
    }
  }
  ["mousedown", "click", "auxclick", "focusin"].forEach(function (name) {
    document.addEventListener(name, here, true);
  });

  function load(example, button) {
    var tab = yasgui.getTab();
    tab.setQuery(example.query);
    document.querySelectorAll("#examples button").forEach(function (b) { b.classList.remove("active"); });
    button.classList.add("active");
    tab.query();
  }

  fetch("/queries").then(function (response) { return response.json(); }).then(function (examples) {
    var list = document.getElementById("examples");
    examples.forEach(function (example) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = example.title;
      button.title = example.description;
      button.dataset.query = example.name;
      button.addEventListener("click", function () { load(example, button); });
      item.appendChild(button);
      list.appendChild(item);
    });
    list.dataset.loaded = "true";
  });
})();
