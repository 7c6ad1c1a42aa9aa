// The mockpbx dashboard: a small script over the control API (/_mock/*), no framework.
// Everything shown comes from the control API, which redacts secrets; text is always set with
// textContent, never parsed as HTML (journal paths and bodies come from any client).
(function () {
  "use strict";

  var TOKEN_KEY = "mockpbx.controlToken";
  var REFRESH_MS = 2000;
  var MAX_ROWS = 200;
  var PRESETS = {
    "503": { kind: "error", status: 503, headers: { "Retry-After": "1" } },
    "429": { kind: "error", status: 429, headers: { "Retry-After": "2" } },
    "500": { kind: "error", status: 500 },
    "401": { kind: "error", status: 401, body: { error: "invalid token" } },
    "delay": { kind: "delay", delay_ms: 2000 },
    "drop": { kind: "drop" },
    "malformed": { kind: "malformed" }
  };

  var state = { journal: [], selected: null, coverage: true, busy: null, again: false };

  function $(id) { return document.getElementById(id); }

  function NeedsToken(message) { this.message = message; }

  function token() { return window.sessionStorage.getItem(TOKEN_KEY); }

  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    var saved = token();
    if (saved) { headers.Authorization = "Bearer " + saved; }
    var init = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch("/_mock" + path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (response.status === 401) {
          throw new NeedsToken(data && data.error ? data.error : "the control token is needed");
        }
        if (!response.ok && response.status !== 404) {
          throw new Error(method + " /_mock" + path + " answered " + response.status +
            (data && data.error ? ": " + data.error : ""));
        }
        return { status: response.status, data: data };
      });
    });
  }

  function say(message, isError) {
    var status = $("status");
    status.textContent = message;
    status.className = isError ? "error" : "";
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function fill(tbody, items, makeRow) {
    var rows = document.createDocumentFragment();
    items.forEach(function (item) { rows.appendChild(makeRow(item)); });
    tbody.replaceChildren(rows);
  }

  // ---- the token --------------------------------------------------------------------------

  function showTokenForm(message) {
    $("panels").hidden = true;
    $("reset").disabled = true;
    $("token-form").hidden = false;
    $("forget-token").hidden = !token();
    $("token-error").textContent = token() ? "The token was not accepted: " + message : "";
    state.journal = [];
    Array.prototype.forEach.call(document.querySelectorAll("#panels tbody"), function (tbody) {
      tbody.replaceChildren();
    });
    $("clock-now").textContent = "–";
    $("journal-detail").textContent = "";
    say("the control API needs its token", true);
    $("token-input").focus();
  }

  function showPanels() {
    $("token-form").hidden = true;
    $("panels").hidden = false;
    $("reset").disabled = false;
    $("forget-token").hidden = !token();
  }

  // ---- the panels -------------------------------------------------------------------------

  function showClock(clock) {
    $("clock-now").textContent = clock.now;
    $("clock-unix").textContent = clock.unix;
    $("clock-state").textContent = clock.frozen ? "frozen" : "running";
    $("clock-state").className = clock.frozen ? "badge frozen" : "badge";
  }

  function loadClock() {
    return api("GET", "/clock").then(function (r) { showClock(r.data); });
  }

  function loadFaults() {
    return api("GET", "/faults").then(function (r) {
      var faults = r.data.data;
      $("faults-count").textContent = faults.length ? "(" + faults.length + " active)" : "";
      $("faults-empty").hidden = faults.length > 0;
      fill($("faults").tBodies[0], faults, function (fault) {
        var row = document.createElement("tr");
        row.dataset.faultId = fault.id;
        cell(row, fault.id);
        cell(row, fault.method);
        cell(row, fault.path, "path");
        cell(row, fault.kind);
        cell(row, fault.status);
        cell(row, fault.delay_ms ? fault.delay_ms + " ms" : "");
        cell(row, fault.times === null ? "until cleared" : fault.times);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Remove";
        remove.addEventListener("click", function () {
          act(api("DELETE", "/faults/" + fault.id), "fault " + fault.id + " removed");
        });
        cell(row, "").appendChild(remove);
        return row;
      });
    });
  }

  function entryKey(entry) {
    return entry.id !== undefined ? String(entry.id) : [entry.time, entry.method, entry.path, entry.duration_ms].join(" ");
  }

  function showJournal() {
    var filter = $("journal-filter").value.trim();
    var shown = state.journal.filter(function (e) { return !filter || e.path.indexOf(filter) !== -1; });
    shown.reverse();  // newest first
    $("journal-count").textContent = filter ? "(" + shown.length + " matching of " + state.journal.length + ")"
      : "(" + state.journal.length + ")";
    $("journal-empty").hidden = shown.length > 0;
    fill($("journal").tBodies[0], shown.slice(0, MAX_ROWS), function (entry) {
      var row = document.createElement("tr");
      var failed = entry.status === null || entry.status >= 400;
      row.dataset.key = entryKey(entry);
      if (state.selected === row.dataset.key) { row.className = "selected"; }
      cell(row, entry.time.replace("T", " "));
      cell(row, entry.method);
      cell(row, entry.path, "path");
      cell(row, entry.status === null ? "dropped" : entry.status, failed ? "status-bad" : "status-ok");
      cell(row, entry.duration_ms.toFixed(1));
      cell(row, entry.fault ? "#" + entry.fault.id + " " + entry.fault.kind : "");
      row.addEventListener("click", function () { select(entry); });
      return row;
    });
  }

  function select(entry) {
    state.selected = entryKey(entry);
    $("journal-detail-title").textContent = entry.method + " " + entry.path;
    $("journal-detail").textContent = JSON.stringify(entry, null, 2);
    Array.prototype.forEach.call($("journal").tBodies[0].rows, function (row) {
      row.className = row.dataset.key === state.selected ? "selected" : "";
    });
  }

  function loadJournal() {
    return api("GET", "/requests").then(function (r) {
      state.journal = r.data.data;
      showJournal();
    });
  }

  function loadAccounts() {
    return api("GET", "/accounts").then(function (r) {
      fill($("accounts").tBodies[0], r.data.data, function (account) {
        var row = document.createElement("tr");
        cell(row, account.login);
        cell(row, account.username);
        cell(row, account.level);
        cell(row, account.domain_uuid);
        cell(row, account.user_uuid);
        return row;
      });
      fill($("domains").tBodies[0], r.data.domains, function (domain) {
        var row = document.createElement("tr");
        cell(row, domain.domain_uuid);
        cell(row, domain.accounts);
        cell(row, domain.generated_traffic ? "yes" : "no");
        return row;
      });
    });
  }

  // GET /_mock/coverage (API coverage) may be missing from an older mock: on 404 the panel
  // stays hidden and is not asked again.
  function loadCoverage() {
    if (!state.coverage) { return Promise.resolve(); }
    return api("GET", "/coverage").then(function (r) {
      if (r.status === 404) {
        state.coverage = false;
        $("coverage-panel").hidden = true;
        return;
      }
      $("coverage-panel").hidden = false;
      $("coverage-summary").textContent = "(" + r.data.exercised + " of " + r.data.total + " outcomes exercised)";
      fill($("coverage").tBodies[0], r.data.outcomes, function (outcome) {
        var row = document.createElement("tr");
        cell(row, outcome.operation);
        cell(row, outcome.status);
        cell(row, outcome.kind);
        cell(row, outcome.count, outcome.count ? "status-ok" : "status-bad");
        return row;
      });
    });
  }

  // One refresh at a time; one asked for meanwhile runs right after (so a change always shows).
  function refresh() {
    if (state.busy) {
      state.again = true;
      return state.busy;
    }
    var loads = [loadClock(), loadFaults(), loadJournal(), loadAccounts(), loadCoverage()];
    state.busy = Promise.all(loads).then(function () {
      showPanels();
      say("updated " + new Date().toLocaleTimeString(), false);
    }).catch(failed).then(function () {
      var again = state.again;
      state.busy = null;
      state.again = false;
      if (again) { return refresh(); }
    });
    return state.busy;
  }

  function failed(error) {
    if (error instanceof NeedsToken) {
      showTokenForm(error.message);
    } else {
      say(error.message, true);
    }
  }

  // A change, then everything shown again.
  function act(request, done) {
    return request.then(function () {
      return refresh().then(function () { say(done, false); });
    }).catch(failed);
  }

  // ---- wiring -----------------------------------------------------------------------------

  function wire() {
    $("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      window.sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
      $("token-input").value = "";
      refresh();
    });
    $("forget-token").addEventListener("click", function () {
      window.sessionStorage.removeItem(TOKEN_KEY);
      refresh();
    });
    $("reset").addEventListener("click", function () {
      state.selected = null;
      $("journal-detail-title").textContent = "";
      $("journal-detail").textContent = "Click a row to see the request (secrets redacted).";
      act(api("POST", "/reset"), "mock reset to its start-up state");
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-advance]"), function (button) {
      button.addEventListener("click", function () {
        var seconds = Number(button.dataset.advance);
        act(api("POST", "/clock", { advance_seconds: seconds }), "clock moved by " + button.textContent);
      });
    });
    $("freeze").addEventListener("click", function () {
      act(api("POST", "/clock", { frozen: true }), "clock frozen");
    });
    $("unfreeze").addEventListener("click", function () {
      act(api("POST", "/clock", { frozen: false }), "clock running");
    });
    $("fault-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var fault = Object.assign({}, PRESETS[$("fault-preset").value]);
      fault.method = $("fault-method").value;
      fault.path = $("fault-path").value.trim();
      var times = $("fault-times").value.trim();
      if (times) { fault.times = Number(times); }
      act(api("POST", "/faults", fault), "fault added on " + fault.method + " " + fault.path);
    });
    $("clear-faults").addEventListener("click", function () {
      act(api("DELETE", "/faults"), "faults cleared");
    });
    $("clear-journal").addEventListener("click", function () {
      act(api("DELETE", "/requests"), "journal cleared");
    });
    $("refresh").addEventListener("click", function () { refresh(); });
    $("journal-filter").addEventListener("input", showJournal);
    window.setInterval(function () {
      if ($("auto-refresh").checked && !$("panels").hidden && !document.hidden) { refresh(); }
    }, REFRESH_MS);
    refresh();
  }

  wire();
})();
