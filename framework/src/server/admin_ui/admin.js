// The fhirsync admin page: plain JavaScript over the JSON admin API
// (/admin/...), served by `fhirsync serve` to users with the admin role.
// Every value from the server is put into the page as text, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

// Calls the admin API; resolves to the JSON answer, or throws an Error
// carrying the server's own message (an OperationOutcome's diagnostics).
async function api(method, path, body) {
  const options = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!response.ok) {
    const issue = json && json.issue && json.issue[0];
    throw new Error((issue && issue.diagnostics) || `${response.status} ${response.statusText}`);
  }
  return json;
}

function say(text, isError) {
  const message = $('message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(label, dataset, onClick, className) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  Object.assign(b.dataset, dataset);
  if (className) b.className = className;
  b.addEventListener('click', onClick);
  return b;
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : 'never';
}

// Runs an action, says what it did, and reloads what it may have changed.
async function act(what, fn) {
  try {
    const result = await fn();
    say(`${what}: ${(result && result.message) || 'done'}`);
  } catch (e) {
    say(`${what} failed: ${e.message}`, true);
  }
  await loadAll();
}

async function loadStatus() {
  const status = await api('GET', '/admin/status');
  $('node-id').textContent = status.node_id;
  const badge = $('in-sync');
  badge.textContent = status.in_sync ? 'in step' : 'needs attention';
  badge.className = 'badge ' + (status.in_sync ? 'ok' : 'bad');
  // The lines as `fhirsync status` prints them (indented problems and mends).
  $('status-lines').textContent = status.lines.join('\n');
  const body = $('problems').tBodies[0];
  body.replaceChildren();
  for (const p of status.problems) {
    const row = body.insertRow();
    cell(row, p.code);
    cell(row, p.words);
    const code = document.createElement('code');
    code.textContent = p.command;
    cell(row, '').appendChild(code);
  }
  $('problems').hidden = status.problems.length === 0;
  $('sync-buttons').hidden = !status.is_child;
}

async function loadOutbox() {
  const outbox = await api('GET', '/admin/outbox');
  $('outbox-paused').hidden = !outbox.paused;
  $('outbox-paused').textContent = outbox.paused ? `Pushing is paused: ${outbox.pause_message}` : '';
  const body = $('outbox').tBodies[0];
  body.replaceChildren();
  for (const item of outbox.items) {
    const row = body.insertRow();
    row.dataset.seq = item.seq;
    row.dataset.state = item.state;
    cell(row, item.seq);
    cell(row, `${item.type}/${item.id} v${item.version}`);
    cell(row, item.action);
    cell(row, item.state, 'state-' + item.state);
    cell(row, item.class);
    cell(row, item.http_status || '');
    cell(row, item.message);
    cell(row, item.attempts);
    const actions = cell(row, '');
    if (item.state === 'dead') {
      const seq = String(item.seq);
      actions.append(
        button('Retry', { action: 'retry', seq }, () =>
          act(`Retry ${seq}`, () => api('POST', `/admin/outbox/${seq}/retry`))),
        ' ',
        button('Retry with force', { action: 'retry-force', seq }, () => {
          if (!confirm(`Send change ${seq} over the parent's copy (overwrites it)?`)) return;
          act(`Retry with force ${seq}`, () => api('POST', `/admin/outbox/${seq}/retry?force=true`));
        }, 'danger'),
        ' ',
        button('Leave server version', { action: 'discard', seq }, () => {
          if (!confirm(`Drop change ${seq} and restore the parent's copy here? ` +
                       'The dropped body stays in the audit log.')) return;
          act(`Leave server version ${seq}`, () => api('POST', `/admin/outbox/${seq}/discard`));
        }, 'danger'));
    }
  }
  $('outbox-empty').hidden = outbox.items.length !== 0;
  $('retry-all').hidden = !outbox.items.some((item) => item.state === 'dead');
}

let openConflict = null;

async function showConflict(id) {
  const c = await api('GET', `/admin/conflicts/${id}`);
  openConflict = c.conflict_id;
  $('conflict-title').textContent = `${c.conflict_id}: ${c.type}/${c.id}`;
  const show = (body) => (body ? JSON.stringify(body, null, 2) : '(none)');
  $('side-base').textContent = show(c.base);
  $('side-local').textContent = show(c.local);
  $('side-server').textContent = c.server ? show(c.server) : '(deleted on the parent)';
  $('merged').value = c.local ? JSON.stringify(c.local, null, 2) : '';
  $('conflict-detail').hidden = false;
}

async function loadConflicts() {
  const conflicts = await api('GET', '/admin/conflicts');
  const body = $('conflicts').tBodies[0];
  body.replaceChildren();
  for (const c of conflicts) {
    const row = body.insertRow();
    cell(row, c.conflict_id);
    cell(row, `${c.type}/${c.id}`);
    cell(row, c.base_version || 'none');
    cell(row, c.local_version);
    cell(row, c.remote_version);
    cell(row, when(c.created_ms));
    cell(row, '').appendChild(button('Compare', { action: 'compare', conflict: String(c.conflict_id) },
      () => showConflict(c.conflict_id).catch((e) => say(e.message, true))));
  }
  $('conflicts-empty').hidden = conflicts.length !== 0;
  if (openConflict !== null && !conflicts.some((c) => c.conflict_id === openConflict)) {
    openConflict = null;
    $('conflict-detail').hidden = true;
  }
}

function resolve(choice) {
  if (openConflict === null) return;
  const id = openConflict;
  let body = { take: choice };
  if (choice === 'body') {
    try {
      body = { take: 'body', resource: JSON.parse($('merged').value) };
    } catch (e) {
      say(`The merged record is not JSON: ${e.message}`, true);
      return;
    }
  }
  act(`Resolve conflict ${id}`, () => api('POST', `/admin/conflicts/${id}/resolve`, body));
}

async function loadChildren() {
  const answer = await api('GET', '/admin/children');
  const body = $('children').tBodies[0];
  body.replaceChildren();
  for (const child of answer.children) {
    const row = body.insertRow();
    cell(row, child.node_id === '' ? '(not named)' : child.node_id);
    cell(row, child.name);
    cell(row, when(child.last_contact_ms));
    cell(row, child.requests);
    cell(row, child.behind === null ? 'unknown' : child.behind === 0 ? 'caught up' :
         `${child.behind} changes`);
  }
  $('children-empty').hidden = answer.children.length !== 0;
}

async function loadAudit() {
  const query = new URLSearchParams();
  if ($('audit-since').value) query.set('since', $('audit-since').value);
  if ($('audit-operation').value) query.set('operation', $('audit-operation').value);
  if ($('audit-status').value.trim()) query.set('status', $('audit-status').value.trim());
  query.set('limit', $('audit-limit').value || '100');
  const rows = await api('GET', '/admin/audit?' + query.toString());
  const body = $('audit').tBodies[0];
  body.replaceChildren();
  for (const r of rows) {
    const row = body.insertRow();
    cell(row, when(r.at_ms));
    cell(row, r.operation);
    cell(row, r.type ? `${r.type}/${r.id}` : '');
    cell(row, r.outcome);
    cell(row, r.http_status || '');
    cell(row, r.message);
  }
}

// Reloads every part of the page. A part that cannot load is reported after
// what the message already says, so the result of an action the operator
// just took is never wiped out by a reload that failed.
async function loadAll() {
  const parts = [loadStatus, loadOutbox, loadConflicts, loadChildren, loadAudit];
  const results = await Promise.allSettled(parts.map((load) => load()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    const before = $('message').textContent;
    const problem = `Could not load the page: ${failed.reason.message}`;
    say(before ? `${before} (${problem})` : problem, true);
  }
  document.body.dataset.loaded = String(Date.now());
}

document.addEventListener('DOMContentLoaded', () => {
  $('refresh').addEventListener('click', () => { say(''); loadAll(); });
  $('pull-now').addEventListener('click', () => act('Pull now', () => api('POST', '/admin/sync/pull')));
  $('push-now').addEventListener('click', () => act('Push now', () => api('POST', '/admin/sync/push')));
  $('retry-all').addEventListener('click', () =>
    act('Retry every dead letter', () => api('POST', '/admin/outbox/_retry-all')));
  $('take-local').addEventListener('click', () => resolve('local'));
  $('take-server').addEventListener('click', () => resolve('server'));
  $('take-body').addEventListener('click', () => resolve('body'));
  $('audit-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    loadAudit().catch((e) => say(e.message, true));
  });
  loadAll();
});
