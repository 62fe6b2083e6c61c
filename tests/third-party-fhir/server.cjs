// A FHIR R4 server written by others for fhirsync's integration tests:
// Medplum's FHIR router and in-memory repository (@medplum/fhir-router, pinned
// in package.json), wrapped in node:http. Medplum does the FHIR work: reads,
// vreads, updates with If-Match (412 when stale), creates at a client's id
// with PUT, deletes, instance history, meta.versionId (UUIDs) and
// meta.lastUpdated, and re-serialises every body it stores.
//
// What Medplum's router does not serve is added here, and only that
// (docs/fhir-servers.md lists it):
//   GET /metadata            a CapabilityStatement (the router has none)
//   GET /{type}/_history     type history, newest first, _since and _count,
//                            paged by next links; built from the repository's
//                            instance histories and the deletes routed here
//                            (its history of a deleted resource is gone)
// The system-level GET /_history is left to the router, which takes it for
// a search and answers an empty searchset: the client must see that it has
// no system history and walk each type's.
//
// Usage: node server.cjs [--load NDJSON_DIR --types T,..]
// Listens on 127.0.0.1, port 0, base /fhir/R4, and prints "listening PORT"
// once it is ready. Stops on SIGTERM.

'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');
const { getStatus, isOk } = require('@medplum/core');

const BASE = '/fhir/R4';
const router = new FhirRouter();
const repo = new MemoryRepository();
const tombstones = []; // {resourceType, id, versionId, lastUpdated}

function arg(name) {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

async function route(method, url, body, headers) {
  const query = Object.fromEntries(new URL(url, 'http://x').searchParams);
  return router.handleRequest({ method, url, params: {}, query, body, headers }, repo);
}

async function load(dir, types) {
  let count = 0;
  for (const type of types) {
    const file = path.join(dir, `${type}.000.ndjson`);
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const resource = JSON.parse(line);
      const [outcome] = await route('PUT', `/${type}/${resource.id}`, resource, {});
      if (!isOk(outcome)) throw new Error(`load ${type}/${resource.id}: ${JSON.stringify(outcome)}`);
      count++;
    }
  }
  return count;
}

const TYPES = ['Patient', 'Organization', 'Practitioner', 'Location', 'AllergyIntolerance',
               'Device', 'Immunization', 'Observation', 'Encounter', 'Condition'];

function capabilityStatement() {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'Medplum fhir-router', version: '3.2.24' },
    rest: [{
      mode: 'server',
      resource: TYPES.map((type) => ({
        type,
        versioning: 'versioned-update',
        readHistory: true,
        updateCreate: true,
        interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type',
                      'search-type'].map((code) => ({ code })),
      })),
      interaction: [],
    }],
  };
}

async function typeHistory(type, query) {
  const since = query.get('_since') ? Date.parse(query.get('_since')) : -Infinity;
  const count = Math.max(1, Number(query.get('_count') || 50));
  const offset = Math.max(0, Number(query.get('_offset') || 0));
  const entries = [];
  for (let page = 0; ; page += 1000) {
    const found = await repo.search({ resourceType: type, count: 1000, offset: page });
    for (const e of found.entry || []) {
      const history = await repo.readHistory(type, e.resource.id);
      for (const v of history.entry || []) {
        entries.push({ fullUrl: `${type}/${v.resource.id}`, resource: v.resource,
                       request: { method: 'PUT', url: `${type}/${v.resource.id}` },
                       at: Date.parse(v.resource.meta.lastUpdated) });
      }
    }
    if (!found.entry || found.entry.length < 1000) break;
  }
  for (const t of tombstones) {
    if (t.resourceType !== type) continue;
    entries.push({ fullUrl: `${type}/${t.id}`, request: { method: 'DELETE', url: `${type}/${t.id}` },
                   response: { status: '204', etag: `W/"${t.versionId}"`, lastModified: t.lastUpdated },
                   at: Date.parse(t.lastUpdated) });
  }
  const wanted = entries.filter((e) => e.at >= since).sort((a, b) => b.at - a.at);
  const pageEntries = wanted.slice(offset, offset + count).map(({ at, ...entry }) => entry);
  const bundle = { resourceType: 'Bundle', type: 'history', total: wanted.length, link: [],
                   entry: pageEntries };
  if (offset + count < wanted.length) {
    const next = new URLSearchParams(query);
    next.set('_offset', String(offset + count));
    next.set('_count', String(count));
    bundle.link.push({ relation: 'next', url: `${origin}${BASE}/${type}/_history?${next}` });
  }
  return bundle;
}

let origin = '';

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(text);
}

async function handle(req, res, text) {
  const url = new URL(req.url, 'http://x');
  if (!url.pathname.startsWith(BASE)) return send(res, 404, { resourceType: 'OperationOutcome' });
  const rest = url.pathname.slice(BASE.length) || '/';
  if (req.method === 'GET' && rest === '/metadata') return send(res, 200, capabilityStatement());
  const history = rest.match(/^\/([A-Za-z]+)\/_history$/);
  if (req.method === 'GET' && history) {
    return send(res, 200, await typeHistory(history[1], url.searchParams));
  }
  let body;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch (e) {
      return send(res, 400, { resourceType: 'OperationOutcome',
                              issue: [{ severity: 'error', code: 'invalid', diagnostics: String(e) }] });
    }
  }
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = value;
  const [outcome, resource] = await route(req.method, rest + url.search, body, headers);
  const status = getStatus(outcome);
  const out = {};
  if (resource && resource.meta && resource.meta.versionId) {
    out.ETag = `W/"${resource.meta.versionId}"`;
    out['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (status === 201) {
      out.Location = `${origin}${BASE}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
  }
  const del = rest.match(/^\/([A-Za-z]+)\/([A-Za-z0-9\-.]+)$/);
  if (req.method === 'DELETE' && del && status < 300) {
    tombstones.push({ resourceType: del[1], id: del[2], versionId: crypto.randomUUID(),
                      lastUpdated: new Date().toISOString() });
  }
  return send(res, status, resource !== undefined ? resource : outcome, out);
}

async function main() {
  const dir = arg('--load');
  if (dir) {
    const count = await load(dir, (arg('--types') || '').split(',').filter(Boolean));
    process.stderr.write(`loaded ${count} resources\n`);
  }
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
        send(res, 500, { resourceType: 'OperationOutcome',
                         issue: [{ severity: 'error', code: 'exception', diagnostics: String(e) }] });
      });
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    origin = `http://127.0.0.1:${port}`;
    process.stdout.write(`listening ${port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`third-party FHIR server: ${e.stack || e}\n`);
  process.exit(1);
});
