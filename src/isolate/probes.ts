// Half-open probes in flight from this isolate: while one request probes a half-open model, others here treat
// it as open, so a recovering model gets one request per isolate rather than a stampede. Fleet-wide there can
// be one probe per isolate; the trade-off accepted for keeping the control-plane object off the request path.

const probing = new Set<string>();

export function probingModels(): ReadonlySet<string> {
  return probing;
}

/** Claims the given half-open models for this request; call the returned function when it is decided. */
export function claimProbes(models: readonly string[]): () => void {
  const claimed = models.filter((model) => !probing.has(model));
  for (const model of claimed) probing.add(model);
  return () => {
    for (const model of claimed) probing.delete(model);
  };
}
