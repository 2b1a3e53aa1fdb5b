/**
 * Loader Worker: builds batches off the main thread (which is busy in the model's BLAS calls). Messages in:
 * `{ type: "init", config }` once, then `{ type: "build", id, request }`; out: `{ type: "batch", id, batch }`
 * (buffers transferred) or `{ type: "error", id, message }`.
 *
 * @module
 */
import { batchBuffers, BatchBuilder, type BatchRequest, type BuilderConfig } from "./batch_builder.ts";

/** A message to the worker. */
export type ToWorker = { type: "init"; config: BuilderConfig } | {
  type: "build";
  id: number;
  request: BatchRequest;
};

let builder: BatchBuilder | null = null;
const port = self as unknown as Worker;

port.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === "init") {
    try {
      builder = new BatchBuilder(msg.config);
    } catch (err) {
      port.postMessage({ type: "error", id: -1, message: (err as Error).message });
    }
    return;
  }
  try {
    if (!builder) throw new Error("loader worker used before init");
    const batch = await builder.build(msg.request);
    port.postMessage({ type: "batch", id: msg.id, batch }, batchBuffers(batch));
  } catch (err) {
    port.postMessage({ type: "error", id: msg.id, message: (err as Error).message });
  }
};
