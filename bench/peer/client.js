// The PouchDB side of make bench: one laptop. It holds a local PouchDB
// database (LevelDB on disk, PouchDB's default in Node) and syncs it with a
// remote database through the harness's link simulator. The Go harness
// drives it with one JSON command per line on stdin and reads one JSON
// answer per line on stdout:
//
//   {"op": "open", "dir": "...", "remote": "http://127.0.0.1:P/db", "config": "default"|"tuned"}
//   {"op": "reopen"}                     a new handle on the remote database
//   {"op": "warm"}                       one request to the remote (remote.info)
//   {"op": "sync"}                       local.sync(remote), both ways, once
//   {"op": "put", "docs": [...]}         save new documents locally
//   {"op": "edit", "edits": [{"id": "...", "fields": {...}}]}
//   {"op": "count"}                      documents held locally
//   {"op": "close"}
//
// "default" is PouchDB as it comes: node-fetch without an agent (a new TCP
// connection per request) and batch_size 100. "tuned" is the peer at its
// best: a keep-alive agent and batch_size 1000.
'use strict';

const http = require('http');
const readline = require('readline');
const PouchDB = require('pouchdb');

let local = null;
let remote = null;
let remoteURL = '';
const remoteOpts = { skip_setup: true };
let batchSize = 100;

async function handle(cmd) {
  switch (cmd.op) {
    case 'open': {
      local = new PouchDB(cmd.dir);
      remoteURL = cmd.remote;
      if (cmd.config === 'tuned') {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
        remoteOpts.fetch = (url, o) => PouchDB.fetch(url, Object.assign({}, o, { agent }));
        batchSize = 1000;
      }
      remote = new PouchDB(remoteURL, remoteOpts);
      return {};
    }
    case 'reopen':
      // A new handle on the remote database, as after a restart: after a
      // failed _bulk_get, the old one fetches each document on its own.
      remote = new PouchDB(remoteURL, remoteOpts);
      return {};
    case 'warm':
      await remote.info();
      return {};
    case 'sync': {
      const rep = local.sync(remote, { batch_size: batchSize });
      let res;
      try {
        res = await rep;
      } catch (err) {
        rep.cancel(); // the other direction may still run
        throw err;
      }
      return { pulled: res.pull ? res.pull.docs_written : 0, pushed: res.push ? res.push.docs_written : 0 };
    }
    case 'put': {
      const res = await local.bulkDocs(cmd.docs);
      const failed = res.filter((r) => r.error);
      if (failed.length > 0) {
        throw new Error(`put: ${failed.length} refused, first ${JSON.stringify(failed[0])}`);
      }
      return { saved: res.length };
    }
    case 'edit': {
      for (const e of cmd.edits) {
        const doc = await local.get(e.id);
        await local.put(Object.assign(doc, e.fields));
      }
      return { edited: cmd.edits.length };
    }
    case 'count':
      return { docs: (await local.info()).doc_count };
    case 'close':
      if (local) {
        await local.close();
      }
      return {};
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const queue = [];
let busy = false;

async function drain() {
  if (busy) {
    return;
  }
  busy = true;
  while (queue.length > 0) {
    const line = queue.shift();
    let out;
    let op = '';
    try {
      const cmd = JSON.parse(line);
      op = cmd.op;
      out = Object.assign({ ok: true }, await handle(cmd));
    } catch (err) {
      out = { ok: false, error: String((err && (err.message || err.reason || err.name)) || err) };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
    if (op === 'close') {
      process.exit(0);
    }
  }
  busy = false;
}

rl.on('line', (line) => {
  queue.push(line);
  drain();
});
rl.on('close', () => {
  if (!busy && queue.length === 0) {
    process.exit(0);
  }
});
