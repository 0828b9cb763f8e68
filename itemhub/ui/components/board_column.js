// One board column as a single NiceGUI element: its name, card count, a slot
// (the quick-add field) and its cards. Cards are data, not elements; every
// field is interpolated with {{ }}, which Vue escapes (no HTML from item text).
//
// The server sends each change of the board once to every tab that shows it
// (itemhub/ui/broadcast.py), as the Socket.IO event EVENT:
//   {seq, columns: {name: ops}}        the board's change number seq
//   {seq, sync: true, columns: {...}}  the whole board at seq (or, with no
//                                      columns, "you are at seq already")
// with these operations per column:
//   {op: "put", card, flash, by}  show a card, or a newer state of it, at its rank
//   {op: "drop", item, version}   remove a card shown at that version or older
//   {op: "reset", cards}          show exactly these cards
// Changes are applied in seq order. A gap (a message lost while the socket was
// away, or before this module loaded) asks the server for the whole board.
// Operations are version-checked, so applying one again changes nothing.
import { ref } from "vue";

const FLASH_MS = 2500; // keep equal to FLASH_SECONDS in board_column.py
const EVENT = "itemhub_board"; // keep equal to BOARD_EVENT in board_column.py
const SYNC_RETRY_MS = 3000;

// One clock for every card of the page, so ages stay current without a timer
// per card or any message from the server.
const now = ref(Date.now());
setInterval(() => (now.value = Date.now()), 30000);

// Item id -> {token, until}: a card moved to another column is shown afresh
// there; this lets it finish (not restart) its flash.
const flashes = new Map();

// Column name -> mounted column (a page shows one board).
const columns = new Map();

// The board's messages: seq is the last change applied (null until the first
// column mounts with the server's seq); inbox holds messages not applied yet;
// waiting holds operations for a column that has not mounted yet.
const board = { seq: null, inbox: [], waiting: new Map(), syncing: null };

// While a card is dragged, messages wait: SortableJS has moved its node, and
// neither list may change under it (the drop is resolved by the card's id).
let dragging = false;

// A window function, so a test can hold messages back as if still on their way.
window.__itemhub_receive = (message) => {
  board.inbox.push(message);
  drain();
};

function listen() {
  if (!window.socket) return setTimeout(listen, 50);
  window.socket.on(EVENT, (message) => window.__itemhub_receive(message));
  // After a reconnection the server sends the whole board (messages may have
  // been lost meanwhile); nothing to ask for here.
}
listen();

function ask_for_board() {
  if (board.syncing) return;
  const column = columns.values().next().value;
  if (!column) return;
  board.syncing = setTimeout(() => {
    board.syncing = null;
    ask_for_board(); // no answer (e.g. sent while reconnecting): again
  }, SYNC_RETRY_MS);
  column.$emit("sync", { seq: board.seq });
}

function deliver(message) {
  for (const [name, ops] of Object.entries(message.columns)) {
    const column = columns.get(name);
    if (column) column.apply(ops);
    else board.waiting.set(name, [...(board.waiting.get(name) || []), ...ops]);
  }
}

function drain() {
  if (dragging) return;
  const syncs = board.inbox.filter((m) => m.sync);
  board.inbox = board.inbox.filter((m) => !m.sync);
  for (const sync of syncs) {
    clearTimeout(board.syncing);
    board.syncing = null;
    if (board.seq !== null && sync.seq < board.seq) continue; // older than shown
    deliver(sync);
    board.seq = sync.seq;
  }
  if (board.seq === null) return; // the board comes as a sync
  board.inbox.sort((a, b) => a.seq - b.seq);
  while (board.inbox.length) {
    const message = board.inbox[0];
    if (message.seq > board.seq + 1) return ask_for_board(); // a gap: keep the rest
    board.inbox.shift();
    if (message.seq <= board.seq) continue; // included already
    deliver(message);
    board.seq = message.seq;
  }
}

function age(created, at) {
  const seconds = Math.max(0, Math.floor((at - Date.parse(created)) / 1000));
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ]) {
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit} ago`;
  }
  return "just now";
}

export default {
  template: `
    <q-card class="w-72 shrink-0 p-2 column no-wrap bg-grey-2 dark:bg-grey-9" style="gap: 0.5rem">
      <div class="row w-full items-center justify-between no-wrap">
        <div class="text-subtitle1 font-medium">{{ column }}</div>
        <q-badge color="primary" :data-testid="'count-' + slug">{{ list.length }}</q-badge>
      </div>
      <slot></slot>
      <div ref="list" class="column w-full min-h-16 no-wrap" style="gap: 0.5rem" :data-testid="'col-' + slug">
        <q-card
          v-for="card in list"
          :key="card.item"
          :data-item="card.item"
          :data-testid="'card-' + card.item"
          class="w-full p-2 cursor-grab transition-all column no-wrap"
          :class="{ 'ring-2 ring-orange-400': flashing[card.item] }"
          style="gap: 0.25rem"
          @click="$emit('open_card', card.item)"
        >
          <div class="font-medium break-words">{{ card.title }}</div>
          <div class="row items-center no-wrap text-xs" style="gap: 0.5rem">
            <q-avatar v-if="card.owner" size="sm" color="primary" text-color="white">{{ card.initials }}</q-avatar>
            <span v-if="card.owner" class="ellipsis">{{ card.owner }}</span>
            <span class="text-grey-7" :title="card.created">{{ age_of(card) }}</span>
          </div>
          <div v-if="card.snippet" class="text-xs text-grey-7 break-words">{{ card.snippet }}</div>
          <div v-if="flashing[card.item]" class="text-xs text-orange-9">changed by {{ flashing[card.item] }}</div>
        </q-card>
      </div>
    </q-card>
  `,
  props: {
    column: String,
    slug: String,
    cards: Array,
    sortable: Boolean,
    viewer: String,
    seq: Number,
  },
  emits: ["open_card", "move_card", "sync"],
  data() {
    return { list: [...(this.cards || [])], flashing: {} };
  },
  watch: {
    // A full update of the element (first render, a reload): the server's list.
    cards(value) {
      this.list = [...(value || [])];
    },
  },
  async mounted() {
    columns.set(this.column, this);
    this.$refs.list.__itemhub_column = this;
    const waiting = board.waiting.get(this.column);
    board.waiting.delete(this.column);
    if (waiting) this.apply(waiting);
    if (board.seq === null && this.seq) {
      // The cards came with the page at this seq; the server answers with
      // what changed since, if anything.
      board.seq = this.seq;
      ask_for_board();
    } else if (board.seq === null) {
      ask_for_board(); // the board was still loading: it comes as a sync
    }
    drain();
    if (!this.sortable) return;
    const { Sortable } = await import("nicegui-sortable");
    if (!this.$refs.list) return; // unmounted meanwhile
    this.sorter = Sortable.create(this.$refs.list, {
      group: "itemhub-board",
      animation: 150,
      ghostClass: "opacity-50",
      onStart: (evt) => {
        dragging = true;
        this.drag_next = evt.item.nextSibling; // where Vue had the node
      },
      onEnd: (evt) => {
        try {
          this.dropped(evt);
        } finally {
          dragging = false;
          drain();
        }
      },
    });
  },
  unmounted() {
    if (columns.get(this.column) === this) columns.delete(this.column);
    this.sorter?.destroy();
    for (const timer of Object.values(this.timers || {})) clearTimeout(timer);
  },
  methods: {
    age_of(card) {
      return age(card.created, now.value);
    },
    index_of(item) {
      return this.list.findIndex((c) => c.item === item);
    },
    apply(ops) {
      for (const op of ops) {
        if (op.op === "reset") {
          this.list = [...op.cards];
        } else if (op.op === "drop") {
          const at = this.index_of(op.item);
          if (at >= 0 && this.list[at].version <= op.version) this.list.splice(at, 1);
        } else if (op.op === "put") {
          const card = op.card;
          const at = this.index_of(card.item);
          if (at >= 0) {
            if (this.list[at].version > card.version) continue;
            this.list.splice(at, 1);
          }
          let to = this.list.findIndex((c) => c.rank > card.rank);
          if (to < 0) to = this.list.length;
          this.list.splice(to, 0, card);
          if (op.flash && op.by !== this.viewer) this.flash(card.item, op.flash, card.version);
        }
      }
    },
    flash(item, who, token) {
      let seen = flashes.get(item);
      if (!seen || seen.token !== token) {
        seen = { token, until: Date.now() + FLASH_MS };
        flashes.set(item, seen);
      }
      const left = seen.until - Date.now();
      if (left <= 0) return;
      this.flashing[item] = who;
      this.timers = this.timers || {};
      clearTimeout(this.timers[item]);
      this.timers[item] = setTimeout(() => {
        delete this.flashing[item];
        if (flashes.get(item) === seen) flashes.delete(item);
      }, left);
    },
    dropped(evt) {
      const target = evt.to.__itemhub_column;
      // Put the node back where SortableJS took it from: Vue owns this DOM and
      // renders the move from the lists below (as vuedraggable does).
      const next = this.drag_next?.parentNode === evt.from ? this.drag_next : null;
      evt.item.remove();
      evt.from.insertBefore(evt.item, next);
      const at = this.index_of(evt.item.dataset.item);
      if (!target || at < 0 || (target === this && at === evt.newIndex)) return;
      const [card] = this.list.splice(at, 1);
      // Shown where it was dropped until the server's own update arrives (or a
      // "reset" snaps it back); the rank only orders it in this tab meanwhile.
      const before = target.list[evt.newIndex - 1];
      const after = target.list[evt.newIndex];
      const rank =
        before && after ? (before.rank + after.rank) / 2 : before ? before.rank + 1 : after ? after.rank - 1 : 0;
      target.list.splice(evt.newIndex, 0, { ...card, rank });
      this.$emit("move_card", {
        item: card.item,
        version: card.version, // the version this tab showed: the move's expected version
        from: this.column,
        to: target.column,
        index: evt.newIndex,
        // The cards it was dropped between, which the server finds in the
        // whole column (this tab's filter may hide others).
        before: before?.item ?? null,
        after: after?.item ?? null,
      });
    },
  },
};
