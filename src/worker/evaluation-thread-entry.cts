/**
 * Piscina's entry of a device pool thread, in CommonJS: piscina loads its entry with require(), and
 * from Node 20.19 require() of an ES module loads it synchronously; a thread terminated during that
 * load (a worker closing as its threads start) aborts the whole process with a V8 fatal error
 * ("IsGraphAsync must be used on an instantiated module"). Through import() the load is asynchronous,
 * and a termination only ends the thread.
 */
import type * as Thread from "./evaluation-thread.js";

const thread: Promise<typeof Thread> = import("./evaluation-thread.js");
// a failed load is reported by the thread's first task, which awaits it
thread.catch(() => undefined);

export = async function evaluateBatch(...args: Parameters<typeof Thread.default>): ReturnType<typeof Thread.default> {
  return (await thread).default(...args);
};
