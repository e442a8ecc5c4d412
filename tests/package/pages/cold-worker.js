// The dedicated worker of the cold-vector tests: runs cold-harness.js's checks where OPFS has
// synchronous access handles.
import { compare, fillUntilQuota, ready } from "./cold-harness.js";

self.onmessage = async ({ data: { backend, place, quota } }) => {
  await ready;
  try {
    self.postMessage(quota ? await fillUntilQuota(place) : await compare(backend, place));
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
