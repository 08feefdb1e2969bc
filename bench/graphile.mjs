// graphile-worker draining N no-op jobs, for bench/workloads/queue.sh:
//   node graphile.mjs CONNECTION_STRING N CONCURRENCY batched|unbatched
// Adds the jobs in one statement, then runs a worker until they are all
// done, and prints the jobs per second of the drain alone.
import { run, quickAddJob } from "graphile-worker";
import pg from "pg";

const [conn, nArg, concArg, mode] = process.argv.slice(2);
const n = Number(nArg), concurrency = Number(concArg);
const batched = mode === "batched";

const pool = new pg.Pool({ connectionString: conn, max: 2 });
// Migrate the schema (quickAddJob does), then clear it and add the jobs in bulk.
await quickAddJob({ pgPool: pool }, "noop", {});
await pool.query("DELETE FROM graphile_worker._private_jobs");
await pool.query(
  "SELECT graphile_worker.add_jobs(array_agg(ROW('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec)) FROM generate_series(1, $1)",
  [n],
);

let done = 0;
let t0 = 0;
let finish;
const finished = new Promise((resolve) => (finish = resolve));
const worker = {
  concurrentJobs: concurrency,
  maxPoolSize: concurrency + 2,
  pollInterval: 1000,
};
if (batched) {
  worker.localQueue = { size: 500 };
  worker.completeJobBatchDelay = 0;
}
t0 = performance.now();
const runner = await run({
  pgPool: new pg.Pool({ connectionString: conn, max: concurrency + 2 }),
  noHandleSignals: true,
  logger: undefined,
  preset: { worker },
  taskList: {
    noop: async () => {
      if (++done === n) finish();
    },
  },
});
await finished;
// The last completions may still be batched: wait until the table is empty.
for (;;) {
  const r = await pool.query("SELECT count(*)::int AS c FROM graphile_worker._private_jobs");
  if (r.rows[0].c === 0) break;
  await new Promise((r) => setTimeout(r, 5));
}
const secs = (performance.now() - t0) / 1000;
await runner.stop();
await pool.end();
console.log(`${n}\t${secs.toFixed(3)}\t${(n / secs).toFixed(1)}`);
