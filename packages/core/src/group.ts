import type { AsyncQueue } from './async-queue.js';
import type { SeqNo } from './types.js';

/** A member of an in-process group: which messages it reads, and where they go. */
export interface GroupMember<M> {
  readonly queue: AsyncQueue<M>;
  wants(message: M): boolean;
}

/**
 * A loadBalanced group within one process: each message goes to one member, chosen as
 * `sequence % n` among the n members that want it, in the order they joined; a member that
 * leaves hands its unread messages to the others. Deterministic, so no coordination is needed,
 * and the choice does not depend on timing.
 */
export class InProcessGroup<M extends { sequence: SeqNo }, Member extends GroupMember<M>> {
  #members: Member[] = [];

  /** In the order they joined. */
  get members(): readonly Member[] {
    return this.#members;
  }

  join(member: Member): void {
    this.#members.push(member);
  }

  /**
   * Removes a member and hands its unread messages to the others; false when it was not one. A
   * closed queue keeps what it holds: its reader takes that, then the error that closed it.
   */
  async leave(member: Member): Promise<boolean> {
    const index = this.#members.indexOf(member);
    if (index < 0) return false;
    this.#members.splice(index, 1);
    if (member.queue.closed) return true;
    const unread: Promise<M>[] = [];
    while (member.queue.length > 0) unread.push(member.queue.shift());
    for (const result of await Promise.allSettled(unread)) {
      // a queued error is the leaving member's to see, and it is leaving
      if (result.status === 'fulfilled') this.dispatch(result.value);
    }
    return true;
  }

  /** Gives `message` to its member, if any member wants it. */
  dispatch(message: M): void {
    // Two passes over the members instead of a filtered copy: this runs for every message.
    let wanting = 0;
    for (const member of this.#members) if (member.wants(message)) wanting++;
    if (wanting === 0) return;
    let pick = Number(message.sequence % BigInt(wanting));
    for (const member of this.#members) {
      if (member.wants(message) && pick-- === 0) {
        member.queue.push(message);
        return;
      }
    }
  }
}
