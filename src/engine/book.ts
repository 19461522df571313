// The fast engine's storage: resting and in-flight orders in one growable pool of two
// typed-array blocks (array of structs, one slot per order), price levels in a second
// pool, and one sorted ladder of levels per book side. Invariants: a slot is either free
// (on the free list) or holds exactly one live order; every resting order is linked into
// exactly one level's FIFO list; each side's ladder is sorted with the best level last.

// This file's own code reads module-local constants, never its exports: the optimiser folds a
// module-local constant into the compiled code, but reads an exported binding through its cell
// (a load and a hole check, and a map check for an object's field) at every use, and the pools
// and the orderId index are inlined into every command path. Each export is defined from the
// local one, so the two cannot differ.
const nullLink = -1;
const numberStride = 8;
const linkStride = 11;
const orderIdNumber = 0;
const levelLink = 2;
const nextLink = 4;

/** No slot / no level: the null link of every list. */
export const none = nullLink;

/** First capacity of every pool; pools double when full. */
const initialOrderCapacity = 1024;
const initialLevelCapacity = 256;
const initialLadderCapacity = 64;
/** Ladder entries scanned linearly from the best end before switching to binary search. */
const ladderLinearScanMax = 16;
/** Shifts of up to this many ladder entries use a plain loop: copyWithin is a runtime call. */
const ladderLoopShiftMax = 32;

function growFloat64(array: Float64Array, capacity: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(capacity);
  grown.set(array);
  return grown;
}

function growInt32(array: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(capacity);
  grown.set(array);
  return grown;
}

/** Float64 fields of an order, at slot x orderNumberStride + field: numbers that may exceed 32 bits. */
export const OrderNumber = {
  orderId: orderIdNumber,
  priceTicks: 1,
  quantityLots: 2,
  filledLots: 3,
  filledQuoteAtoms: 4,
  heldAtoms: 5,
  createdAtMs: 6,
  updatedAtMs: 7,
} as const;
export const orderNumberStride = numberStride;

/**
 * Int32 fields of an order, at slot x orderLinkStride + field: links, dense indexes and
 * two packed fields (kind: side | orderType << 8 | timeInForce << 16 | stpMode << 24;
 * feesBps: makerFeeBps | takerFeeBps << 16), so an order needs no more memory than before.
 */
export const OrderLink = {
  accountIndex: 0,
  marketIndex: 1,
  /** Level the order rests in, or `none` while it is a taker. */
  level: levelLink,
  /** FIFO links inside the level. */
  previous: 3,
  next: nextLink,
  /** Links in the owner's list of open orders (orderId ascending, all markets). */
  accountPrevious: 5,
  accountNext: 6,
  /** Balance slots of the owner in the market's base and quote asset, resolved once at acceptance. */
  baseBalance: 7,
  quoteBalance: 8,
  kind: 9,
  feesBps: 10,
} as const;
export const orderLinkStride = linkStride;

/** The packed `kind` field: each enumeration is below 256. */
export function packKind(side: number, orderType: number, timeInForce: number, stpMode: number): number {
  return side | (orderType << 8) | (timeInForce << 16) | (stpMode << 24);
}

/** The packed `feesBps` field: each fee is at most feeBpsMax (1000), below 2^16. */
export function packFees(makerFeeBps: number, takerFeeBps: number): number {
  return makerFeeBps | (takerFeeBps << 16);
}

/**
 * Every open order (and the taker of the command being executed) lives in one slot of
 * two contiguous blocks (array of structs): its Float64 fields (OrderNumber) and its
 * Int32 fields (OrderLink) sit next to each other, so touching an order reads two short
 * runs of memory and the engine loads two arrays instead of one per field.
 * 8 x 8 + 11 x 4 = 108 bytes per order, with no per-order object for the garbage collector.
 */
export class OrderPool {
  capacity = initialOrderCapacity;
  numbers = new Float64Array(initialOrderCapacity * numberStride);
  links = new Int32Array(initialOrderCapacity * linkStride);
  clientOrderId: string[] = new Array<string>(initialOrderCapacity).fill('');
  /** Free slots form a stack linked through their `next` field (no separate array: 4 MB less per million). */
  private freeHead = nullLink;
  private freeCount = 0;
  private used = 0;

  /** Number of slots holding an order. */
  get size(): number {
    return this.used - this.freeCount;
  }

  allocate(): number {
    const free = this.freeHead;
    if (free !== nullLink) {
      this.freeHead = this.links[free * linkStride + nextLink]!;
      this.freeCount--;
      return free;
    }
    if (this.used === this.capacity) this.grow();
    return this.used++;
  }

  /** Frees a slot. Callers read its links (next, accountNext) before releasing it. */
  release(slot: number): void {
    this.clientOrderId[slot] = '';
    const links = this.links;
    links[slot * linkStride + levelLink] = nullLink;
    links[slot * linkStride + nextLink] = this.freeHead;
    this.freeHead = slot;
    this.freeCount++;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.numbers = growFloat64(this.numbers, capacity * numberStride);
    this.links = growInt32(this.links, capacity * linkStride);
    const strings = this.clientOrderId;
    for (let slot = this.capacity; slot < capacity; slot++) strings.push('');
    this.capacity = capacity;
  }
}

/**
 * Price levels: total remaining quantity, order count and FIFO head/tail per level.
 * Totals are updated on every fill, cancel and amend, so depth never sums orders.
 */
export class LevelPool {
  capacity = initialLevelCapacity;
  priceTicks = new Float64Array(initialLevelCapacity);
  quantityLots = new Float64Array(initialLevelCapacity);
  orderCount = new Int32Array(initialLevelCapacity);
  head = new Int32Array(initialLevelCapacity);
  tail = new Int32Array(initialLevelCapacity);
  private freeSlots = new Int32Array(initialLevelCapacity);
  private freeCount = 0;
  private used = 0;

  allocate(priceTicks: number): number {
    let level: number;
    if (this.freeCount > 0) level = this.freeSlots[--this.freeCount]!;
    else {
      if (this.used === this.capacity) this.grow();
      level = this.used++;
    }
    this.priceTicks[level] = priceTicks;
    this.quantityLots[level] = 0;
    this.orderCount[level] = 0;
    this.head[level] = nullLink;
    this.tail[level] = nullLink;
    return level;
  }

  release(level: number): void {
    this.freeSlots[this.freeCount++] = level;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.priceTicks = growFloat64(this.priceTicks, capacity);
    this.quantityLots = growFloat64(this.quantityLots, capacity);
    this.orderCount = growInt32(this.orderCount, capacity);
    this.head = growInt32(this.head, capacity);
    this.tail = growInt32(this.tail, capacity);
    this.freeSlots = growInt32(this.freeSlots, capacity);
    this.capacity = capacity;
  }
}

/**
 * One side of one book: its levels sorted by a key that grows towards the best price
 * (the price for bids, minus the price for asks), best level last. Matching, best-price
 * reads and depth touch only the end of the arrays; a new level near the top shifts a
 * few entries. Lookups scan from the best end first because flow clusters there.
 */
export class BookSide {
  /** 1 for bids (key = price), -1 for asks (key = -price). */
  readonly sign: number;
  keys = new Float64Array(initialLadderCapacity);
  levels = new Int32Array(initialLadderCapacity);
  count = 0;

  constructor(sign: number) {
    this.sign = sign;
  }

  /**
   * Index in the ladder of the first entry whose key is >= key (count when none). Kept
   * small (the binary search is a method of its own) so V8 inlines it into the hot paths.
   */
  private lowerBound(key: number): number {
    const keys = this.keys;
    const count = this.count;
    const scanEnd = count > ladderLinearScanMax ? count - ladderLinearScanMax : 0;
    let index = count;
    while (index > scanEnd && keys[index - 1]! >= key) index--;
    if (index > scanEnd || index === 0) return index;
    return this.binarySearch(key, index);
  }

  /** lowerBound() for a key deeper than the linear window: binary search of [0, high). */
  private binarySearch(key: number, high: number): number {
    const keys = this.keys;
    let low = 0;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (keys[middle]! < key) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The level at `priceTicks`, or `none`. */
  find(priceTicks: number): number {
    const key = this.sign * priceTicks;
    const index = this.lowerBound(key);
    return index < this.count && this.keys[index] === key ? this.levels[index]! : nullLink;
  }

  /**
   * The level at `priceTicks`, created from `pool` (and inserted in order) when missing.
   * Near the best end a ladder is usually dense (a level at every tick: 88 % of the standard
   * flow's lookups), so the entry as far below the best as the key is from the best key is
   * tried first: one load and a well-predicted branch, where a scan runs a different number
   * of steps for every order (and mispredicts its exit). Anything else is searched.
   */
  findOrInsert(priceTicks: number, pool: LevelPool): number {
    const key = this.sign * priceTicks;
    const last = this.count - 1;
    if (last >= 0) {
      const distance = this.keys[last]! - key;
      if (distance >= 0 && distance <= last && this.keys[last - distance] === key) return this.levels[last - distance]!;
    }
    return this.searchOrInsert(key, priceTicks, pool);
  }

  /** findOrInsert() when the dense guess missed: search, then insert when missing. */
  private searchOrInsert(key: number, priceTicks: number, pool: LevelPool): number {
    const index = this.lowerBound(key);
    if (index < this.count && this.keys[index] === key) return this.levels[index]!;
    return this.insertAt(index, key, priceTicks, pool);
  }

  /**
   * Inserts a new level for `priceTicks` at ladder `index` (from lowerBound). A method of
   * its own: most orders join an existing level, and the small findOrInsert is inlined.
   */
  private insertAt(index: number, key: number, priceTicks: number, pool: LevelPool): number {
    if (this.count === this.keys.length) {
      this.keys = growFloat64(this.keys, this.count * 2);
      this.levels = growInt32(this.levels, this.count * 2);
    }
    // Shift the better levels up by one (usually a handful near the top of the book).
    const keys = this.keys;
    const ladder = this.levels;
    if (this.count - index > ladderLoopShiftMax) {
      keys.copyWithin(index + 1, index, this.count);
      ladder.copyWithin(index + 1, index, this.count);
    } else {
      for (let at = this.count; at > index; at--) {
        keys[at] = keys[at - 1]!;
        ladder[at] = ladder[at - 1]!;
      }
    }
    const level = pool.allocate(priceTicks);
    this.keys[index] = key;
    this.levels[index] = level;
    this.count++;
    return level;
  }

  /** Removes an (empty) level from the ladder; the caller returns it to the pool. */
  remove(priceTicks: number): void {
    const last = this.count - 1;
    const key = this.sign * priceTicks;
    // The common case: the best level emptied by matching.
    const distance = this.keys[last]! - key;
    if (distance === 0) {
      this.count = last;
      return;
    }
    // The dense guess of findOrInsert(), then the search.
    const index = distance > 0 && distance <= last && this.keys[last - distance] === key ? last - distance : this.lowerBound(key);
    const keys = this.keys;
    const ladder = this.levels;
    if (last - index > ladderLoopShiftMax) {
      keys.copyWithin(index, index + 1, this.count);
      ladder.copyWithin(index, index + 1, this.count);
    } else {
      for (let at = index; at < last; at++) {
        keys[at] = keys[at + 1]!;
        ladder[at] = ladder[at + 1]!;
      }
    }
    this.count = last;
  }
}

/** First capacity of the orderId index's hash table (a power of two); it doubles past half full. */
const initialIndexCapacity = 1024;
/**
 * OrderIds the index's direct-mapped window covers (a power of two): the newest ids, where
 * nearly every lookup, insert and delete falls. 256 KB per engine.
 */
const orderIndexWindowSize = 1 << 16;
const orderIndexWindowMask = orderIndexWindowSize - 1;
/** When an id lands above the window, the window moves so that this many ids stay free above it. */
const orderIndexWindowHeadroom = orderIndexWindowSize >> 2;

/**
 * orderId -> pool slot for resting orders. OrderIds come from a counter, so resting orders
 * are mostly recent ones: ids in [windowBase, windowBase + orderIndexWindowSize) live in a
 * direct-mapped window (position id mod size), older ids in an open-addressing hash table
 * with linear probing and backward-shift deletion (no tombstones, no rehash churn as
 * orders come and go; a JavaScript Map reallocates its table every few thousand
 * deletions). When an id arrives above the window, the window moves up and the orders
 * still resting below its new base move into the hash table (each id leaves the window
 * once, so the move costs O(1) per order over time).
 * Both hold slots only: an entry's key is the orderId its slot holds in the pool (4 bytes
 * per bucket instead of 12, about 16 MB less with a million resting orders), so set() must
 * come after the slot's orderId is written and delete() before it changes. Keys are safe
 * integers (NaN and fractions are simply never found).
 */
export class OrderIndex {
  private window = new Int32Array(orderIndexWindowSize).fill(nullLink);
  /** Lowest orderId the window covers. */
  private windowBase = 0;
  private values = new Int32Array(initialIndexCapacity).fill(nullLink);
  private mask = initialIndexCapacity - 1;
  /** 32 - log2(capacity): home() keeps the top log2(capacity) bits of the product. */
  private shift = 32 - Math.log2(initialIndexCapacity);
  /** Entries in the hash table (the rest of `size` is in the window). */
  private hashSize = 0;
  size = 0;

  constructor(private readonly pool: OrderPool) {}

  get(key: number): number {
    if (key >= this.windowBase) {
      // Above the window nothing is indexed; the key check also rejects fractions and NaN.
      const value = this.window[key & orderIndexWindowMask]!;
      return value !== nullLink && this.pool.numbers[value * numberStride + orderIdNumber] === key ? value : nullLink;
    }
    return this.hashGet(key);
  }

  /** Adds the slot `value`, whose orderId `key` is already in the pool and not yet in the index. */
  set(key: number, value: number): void {
    if (key >= this.windowBase) {
      if (key >= this.windowBase + orderIndexWindowSize) this.moveWindow(key);
      this.window[key & orderIndexWindowMask] = value;
    } else {
      this.hashSet(key, value);
    }
    this.size++;
  }

  delete(key: number): void {
    if (key >= this.windowBase) {
      const position = key & orderIndexWindowMask;
      const value = this.window[position]!;
      if (value !== nullLink && this.pool.numbers[value * numberStride + orderIdNumber] === key) {
        this.window[position] = nullLink;
        this.size--;
      }
      return;
    }
    if (this.hashDelete(key)) this.size--;
  }

  /** Moves the window up so it covers `key` with headroom; resting orders below it go to the hash table. */
  private moveWindow(key: number): void {
    const oldBase = this.windowBase;
    const newBase = key + orderIndexWindowHeadroom - orderIndexWindowSize + 1;
    // Stored before the loop: V8 compiles the loop while it runs (on-stack replacement), and
    // a store after it that had never run would send that code back to the interpreter on
    // every move.
    this.windowBase = newBase;
    const window = this.window;
    const numbers = this.pool.numbers;
    // Ids in [oldBase, newBase) leave the window (all of them when it jumps by its size or
    // more). Small-integer positions keep this loop cheap: every id passes through it once.
    const leaving = Math.min(newBase - oldBase, orderIndexWindowSize);
    const first = oldBase & orderIndexWindowMask;
    for (let step = 0; step < leaving; step++) {
      const position = (first + step) & orderIndexWindowMask;
      const value = window[position]!;
      if (value !== nullLink) {
        window[position] = nullLink;
        this.hashSet(numbers[value * numberStride + orderIdNumber]!, value);
      }
    }
  }

  /** Fibonacci hashing: the top bits of key x 2^32/phi spread sequential ids evenly. */
  private home(key: number): number {
    let low = key | 0;
    if (key > 0xffffffff) low ^= Math.imul((key / 4294967296) | 0, 0x27d4eb2f);
    return Math.imul(low, 0x9e3779b1) >>> this.shift;
  }

  private hashGet(key: number): number {
    const values = this.values;
    const numbers = this.pool.numbers;
    const mask = this.mask;
    for (let bucket = this.home(key); ; bucket = (bucket + 1) & mask) {
      const value = values[bucket]!;
      if (value === nullLink) return nullLink;
      if (numbers[value * numberStride + orderIdNumber] === key) return value;
    }
  }

  private hashSet(key: number, value: number): void {
    if ((this.hashSize + 1) * 2 > this.values.length) this.grow();
    const mask = this.mask;
    let bucket = this.home(key);
    while (this.values[bucket] !== nullLink) bucket = (bucket + 1) & mask;
    this.values[bucket] = value;
    this.hashSize++;
  }

  /** Removes `key` from the hash table; false when it was not there. */
  private hashDelete(key: number): boolean {
    const values = this.values;
    const numbers = this.pool.numbers;
    const mask = this.mask;
    let bucket = this.home(key);
    while (true) {
      const value = values[bucket]!;
      if (value === nullLink) return false;
      if (numbers[value * numberStride + orderIdNumber] === key) break;
      bucket = (bucket + 1) & mask;
    }
    // Shift later members of the probe run back so every key stays reachable from its home.
    let hole = bucket;
    for (let next = (hole + 1) & mask; values[next] !== nullLink; next = (next + 1) & mask) {
      const home = this.home(numbers[values[next]! * numberStride + orderIdNumber]!);
      // Move the entry unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!stays) {
        values[hole] = values[next]!;
        hole = next;
      }
    }
    values[hole] = nullLink;
    this.hashSize--;
    return true;
  }

  private grow(): void {
    const oldValues = this.values;
    const numbers = this.pool.numbers;
    const capacity = oldValues.length * 2;
    this.values = new Int32Array(capacity).fill(nullLink);
    this.mask = capacity - 1;
    this.shift--;
    this.hashSize = 0;
    for (let bucket = 0; bucket < oldValues.length; bucket++) {
      const value = oldValues[bucket]!;
      if (value !== nullLink) this.hashSet(numbers[value * numberStride + orderIdNumber]!, value);
    }
  }
}
