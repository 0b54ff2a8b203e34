// Push time series to a remote-write URL with the npm "prometheus-remote-write" client.
// Usage: node push.js '<json: {"url": ..., "timeseries": [...], "auth": {...}}>'
// Prints {"status": ..., "text": ...} on stdout.
const { pushTimeseries } = require("prometheus-remote-write");

async function main() {
  const spec = JSON.parse(process.argv[2]);
  const result = await pushTimeseries(spec.timeseries, {
    url: spec.url,
    auth: spec.auth,
    labels: spec.labels,
    fetch: globalThis.fetch,
  });
  process.stdout.write(JSON.stringify({ status: result.status, text: result.errorMessage || "" }));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
