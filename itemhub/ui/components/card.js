// One board card as a single NiceGUI element: every field arrives as a prop and
// is interpolated with {{ }}, which Vue escapes (no HTML from item text).
import { ref } from "vue";

const FLASH_MS = 2500; // keep equal to FLASH_SECONDS in board.py

// One clock for every card of the page, so ages stay current without a timer
// per card or any message from the server.
const now = ref(Date.now());
setInterval(() => (now.value = Date.now()), 30000);

// Item id -> {token, until}: a card that another tab's change moved to a new
// column is mounted afresh there; this lets it finish (not restart) its flash.
const flashes = new Map();

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
    <q-card
      class="w-full p-2 cursor-grab transition-all column no-wrap"
      :class="{ 'ring-2 ring-orange-400': flashing }"
      style="gap: 0.25rem"
      @click="open_card"
    >
      <div class="font-medium break-words">{{ title }}</div>
      <div class="row items-center no-wrap text-xs" style="gap: 0.5rem">
        <q-avatar v-if="owner" size="sm" color="primary" text-color="white">{{ initials }}</q-avatar>
        <span v-if="owner" class="ellipsis">{{ owner }}</span>
        <span class="text-grey-7" :title="created">{{ shown_age }}</span>
      </div>
      <div v-if="snippet" class="text-xs text-grey-7 break-words">{{ snippet }}</div>
      <div v-if="flashing" class="text-xs text-orange-9">changed by {{ changed_by }}</div>
    </q-card>
  `,
  props: {
    item: String,
    title: String,
    owner: String,
    initials: String,
    created: String,
    snippet: String,
    changed_by: String,
    flash: Number,
  },
  data() {
    return { flashing: false };
  },
  computed: {
    shown_age() {
      return age(this.created, now.value);
    },
  },
  watch: {
    flash() {
      this.start_flash();
    },
  },
  mounted() {
    this.start_flash();
  },
  unmounted() {
    clearTimeout(this.timer);
  },
  methods: {
    open_card() {
      // Caught by one listener on the column (board.py OPEN_CARD), not one per card.
      this.$el.dispatchEvent(new CustomEvent("open_card", { bubbles: true, detail: this.item }));
    },
    start_flash() {
      if (!this.flash) return;
      let seen = flashes.get(this.item);
      if (!seen || seen.token !== this.flash) {
        seen = { token: this.flash, until: Date.now() + FLASH_MS };
        flashes.set(this.item, seen);
      }
      const left = seen.until - Date.now();
      if (left <= 0) return;
      this.flashing = true;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => (this.flashing = false), left);
    },
  },
};
