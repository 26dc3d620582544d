/**
 * Handles one partition's batch, in offset order, up to `inFlight` messages at once, so one slow
 * message does not hold up the ones behind it. An offset is committed only once it and every one
 * before it are handled: when a prefix completes while none is being committed, and at the end.
 * After a failure no more are started; it is thrown once those in flight settle.
 */
export async function handleBatch<M extends { offset: string }>(
  messages: M[],
  o: { inFlight: number; live: () => boolean; handle: (message: M) => Promise<void>; commit: (lastOffset: string) => Promise<void> },
): Promise<void> {
  const done = messages.map(() => false);
  let [handled, committed] = [0, 0]; // messages[0, handled) are done; [0, committed) committed
  let failure: { error: unknown } | undefined;
  let committing: Promise<void> | undefined;
  // Commits the handled prefix, and again while more completed during a commit.
  const commitPrefix = async () => {
    for (;;) {
      while (handled < messages.length && done[handled]) handled++;
      if (handled === committed) return;
      committed = handled;
      await o.commit(messages[handled - 1]!.offset);
    }
  };
  // One commit at a time: prefixes completed meanwhile go into the next one.
  const commitSoon = () =>
    void (committing ??= commitPrefix()
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => (committing = undefined)));
  const running = new Set<Promise<void>>();
  for (let i = 0; i < messages.length && !failure && o.live(); i++) {
    const task: Promise<void> = Promise.resolve(messages[i]!)
      .then(o.handle) // a handler that throws at once fails like one that rejects
      .then(
        () => void ((done[i] = true), commitSoon()),
        (error: unknown) => void (failure ??= { error }),
      )
      .finally(() => running.delete(task));
    running.add(task);
    if (running.size >= o.inFlight) await Promise.race(running);
  }
  await Promise.all(running);
  await committing;
  await commitPrefix();
  if (failure) throw failure.error;
}
