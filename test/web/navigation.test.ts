// Back and Forward's history entries (src/web/navigation.ts; docs/WEB.md "Back and Forward") over
// a History stand-in: which moves add an entry, what an entry holds, and that an entry of any other
// opening, or anything else found in history.state, names no view.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HistoryLike, Navigation } from '../../src/web/navigation.ts';

/** A session history of one document: its entries' states, the one the page is on, and each URL given. */
class FakeHistory implements HistoryLike {
  readonly states: unknown[] = [null];
  at = 0;
  readonly urls: unknown[] = [];

  get state(): unknown {
    return this.states[this.at];
  }

  pushState(data: unknown, _unused: string, url?: string | URL | null): void {
    this.urls.push(url);
    this.states.splice(this.at + 1, Number.POSITIVE_INFINITY, structuredClone(data));
    this.at++;
  }

  replaceState(data: unknown, _unused: string, url?: string | URL | null): void {
    this.urls.push(url);
    this.states[this.at] = structuredClone(data);
  }

  go(delta: number): unknown {
    this.at += delta;
    return this.state;
  }
}

/** Counted bytes, so two openings get different ids without patching the random source. */
function counter(): (length: number) => Uint8Array {
  let next = 0;
  return (length) => new Uint8Array(length).fill(++next);
}

describe('Navigation', () => {
  test('the first view takes over the entry the page is on; each move adds one; following adds none', () => {
    const history = new FakeHistory();
    const navigation = new Navigation(history, counter());
    assert.equal(navigation.active, false);
    navigation.visit({ snapshot: null, folder: 3 });
    assert.equal(history.states.length, 1, 'nothing open: nothing recorded');
    navigation.start({ snapshot: null, folder: null });
    assert.equal(navigation.active, true);
    assert.equal(history.states.length, 1, 'Back from the first view leaves as before');
    navigation.visit({ snapshot: 'ab'.repeat(16), folder: 0 });
    navigation.visit({ snapshot: 'ab'.repeat(16), folder: 0 });
    navigation.visit({ snapshot: 'ab'.repeat(16), folder: 2 });
    assert.equal(history.states.length, 3, 'moving to the view shown adds no entry');
    assert.deepEqual(navigation.viewOf(history.go(-1)), { snapshot: 'ab'.repeat(16), folder: 0 });
    assert.deepEqual(navigation.viewOf(history.go(-1)), { snapshot: null, folder: null });
    assert.deepEqual(navigation.viewOf(history.go(2)), { snapshot: 'ab'.repeat(16), folder: 2 });
    // No URL is ever given, so the address stays as it is.
    assert.deepEqual(history.urls, [undefined, undefined, undefined]);
  });

  test('an entry holds a random opening id, the snapshot id and the folder number, nothing else', () => {
    const history = new FakeHistory();
    const navigation = new Navigation(history, counter());
    navigation.start({ snapshot: null, folder: null });
    navigation.visit({ snapshot: 'cd'.repeat(16), folder: 7 });
    assert.deepEqual(history.state, { opening: '01'.repeat(16), snapshot: 'cd'.repeat(16), folder: 7 });
  });

  test('entries of an earlier opening, of a closed one, and anything else name no view', () => {
    const history = new FakeHistory();
    const navigation = new Navigation(history, counter());
    navigation.start({ snapshot: null, folder: null });
    navigation.visit({ snapshot: 'ab'.repeat(16), folder: 1 });
    const earlier = history.state;
    navigation.start({ snapshot: null, folder: null });
    assert.equal(navigation.viewOf(earlier), null, 'an earlier opening');
    const opening = (history.state as { opening: string }).opening;
    for (const state of [
      null,
      undefined,
      'a string',
      42,
      [opening, null, 1],
      {},
      { opening },
      { opening, snapshot: 7, folder: 1 },
      { opening, snapshot: null, folder: -1 },
      { opening, snapshot: null, folder: 1.5 },
      { opening, snapshot: null, folder: '1' },
      { opening, snapshot: null, folder: 'chat/media' },
      { opening: opening.slice(0, -1), snapshot: null, folder: 1 },
    ])
      assert.equal(navigation.viewOf(state), null, JSON.stringify(state));
    assert.deepEqual(navigation.viewOf({ opening, snapshot: null, folder: 0 }), {
      snapshot: null,
      folder: 0,
    });
    // Closed: the entry the page is on forgets its view, and no entry names one any more.
    const current = history.state;
    navigation.stop();
    assert.equal(navigation.active, false);
    assert.equal(history.state, null);
    assert.equal(navigation.viewOf(current), null);
    navigation.visit({ snapshot: null, folder: 0 });
    navigation.replace({ snapshot: null, folder: 0 });
    assert.equal(history.state, null, 'nothing is recorded once closed');
  });
});
