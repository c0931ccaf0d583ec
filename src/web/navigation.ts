// Back and Forward between the views of what the page opened (docs/WEB.md "Back and Forward"): each
// view the user moves to is one history entry. An entry names its view by numbers and random ids
// only, never by a folder's name, and the URL never changes. Pure over the History handed in, so it
// is tested on Node; src/web/main.ts shows the views.

import { toHex } from '../protocol/vault/bytes.ts';

/** A view of what is open, as a history entry records it. */
export interface View {
  /** The snapshot listed, by its id (random, docs/FORMAT.md §12.1); null: the snapshot list, or a backup file. */
  readonly snapshot: string | null;
  /** The folder shown, by its FolderIndex number; null: no folder is shown (the snapshot list, a single file). */
  readonly folder: number | null;
}

/**
 * What history.state holds, and all it holds: the view and the opening it belongs to. No name, no
 * path and no key: history state may be kept on disk with the session, and a URL is logged and
 * synced (docs/WEB.md "Back and Forward").
 */
interface Entry extends View {
  /** A random id of one opening of a repository or backup file, so an entry of another is told apart. */
  readonly opening: string;
}

/** The part of window.history used. */
export type HistoryLike = Pick<History, 'state' | 'pushState' | 'replaceState'>;

const sameView = (a: View, b: View) => a.snapshot === b.snapshot && a.folder === b.folder;

/**
 * The history entries of the current opening. Only the user's own moves add an entry; following
 * an entry (popstate) adds none, so Back and Forward never loop.
 */
export class Navigation {
  private opening: string | null = null;

  constructor(
    private readonly history: HistoryLike,
    private readonly randomBytes: (length: number) => Uint8Array,
  ) {}

  /** Whether something is open, whose views entries can name. */
  get active(): boolean {
    return this.opening !== null;
  }

  /**
   * Starts a fresh navigation at `view`, the first view of a new opening. It takes over the entry
   * the page is on rather than adding one, so Back from it leaves the page as it would have
   * before; entries of earlier openings no longer match (viewOf).
   */
  start(view: View): void {
    this.opening = toHex(this.randomBytes(16));
    this.replace(view);
  }

  /** Ends the navigation when what was open is closed: the entry the page is on forgets its view. */
  stop(): void {
    if (this.opening === null) return;
    this.opening = null;
    this.history.replaceState(null, '');
  }

  /** The user moved to `view`: a new entry, unless the entry the page is on already names it. */
  visit(view: View): void {
    if (this.opening === null) return;
    const shown = this.viewOf(this.history.state);
    if (shown !== null && sameView(shown, view)) return;
    // No URL argument: the address stays exactly as it is (docs/WEB.md "Back and Forward").
    this.history.pushState(this.entry(view), '');
  }

  /** Makes the entry the page is on name `view` (after a foreign entry was followed). */
  replace(view: View): void {
    if (this.opening === null) return;
    this.history.replaceState(this.entry(view), '');
  }

  /**
   * The view history state `state` names, or null if it is not an entry of the current opening: one
   * of an earlier opening, of a repository closed since, of an earlier page load, or anything else.
   */
  viewOf(state: unknown): View | null {
    if (this.opening === null || typeof state !== 'object' || state === null) return null;
    const { opening, snapshot, folder } = state as Partial<Record<keyof Entry, unknown>>;
    if (opening !== this.opening) return null;
    if (snapshot !== null && typeof snapshot !== 'string') return null;
    if (folder !== null && !(Number.isSafeInteger(folder) && (folder as number) >= 0)) return null;
    return { snapshot, folder: folder as number | null };
  }

  private entry(view: View): Entry {
    return { opening: this.opening!, snapshot: view.snapshot, folder: view.folder };
  }
}
