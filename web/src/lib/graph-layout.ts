/**
 * A layered (Sugiyama-style) layout of a DAG, left to right: longest-path layering, dummy
 * nodes on long edges, barycentre sweeps to reduce crossings, then y positions pulled
 * towards the median of neighbours while keeping order and spacing. Pure, no DOM.
 */

export interface LayoutNode {
  readonly id: string;
  readonly width: number;
  readonly height: number;
}
export interface LayoutEdge {
  readonly from: string;
  readonly to: string;
}
export interface PlacedNode extends LayoutNode {
  readonly x: number;
  readonly y: number;
  readonly layer: number;
}
export interface PlacedEdge extends LayoutEdge {
  /** Points from the right side of `from` to the left side of `to`, through the dummies. */
  readonly points: readonly { x: number; y: number }[];
}
export interface Layout {
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

export interface LayoutOptions {
  readonly layerGap?: number;
  readonly nodeGap?: number;
  readonly margin?: number;
  readonly sweeps?: number;
}

interface Slot {
  id: string;
  dummy: boolean;
  height: number;
  width: number;
  layer: number;
  order: number;
  y: number;
}

export function layoutDag(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], o: LayoutOptions = {}): Layout {
  const layerGap = o.layerGap ?? 70;
  const nodeGap = o.nodeGap ?? 18;
  const margin = o.margin ?? 16;
  const sweeps = o.sweeps ?? 6;

  const byId = new Map(nodes.map((n) => [n.id, n]));
  const seen = new Set<string>();
  const uniqueEdges = edges.filter((e) => {
    const k = `${e.from}\u0000${e.to}`;
    if (e.from === e.to || !byId.has(e.from) || !byId.has(e.to) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });

  // 1. Layers: the longest path from a source (edges point to higher layers).
  const preds = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const e of uniqueEdges) preds.get(e.to)!.push(e.from);
  const layerOf = new Map<string, number>();
  const visiting = new Set<string>();
  const layerFor = (id: string): number => {
    const known = layerOf.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle: not expected in a DAG; cut it here
    visiting.add(id);
    let l = 0;
    for (const p of preds.get(id)!) l = Math.max(l, layerFor(p) + 1);
    visiting.delete(id);
    layerOf.set(id, l);
    return l;
  };
  nodes.forEach((n) => layerFor(n.id));

  // 2. Slots per layer, with dummies along edges that skip layers.
  const slots = new Map<string, Slot>();
  const layers: Slot[][] = [];
  const addSlot = (s: Slot) => {
    slots.set(s.id, s);
    (layers[s.layer] ??= []).push(s);
  };
  nodes.forEach((n) => addSlot({ id: n.id, dummy: false, height: n.height, width: n.width, layer: layerOf.get(n.id)!, order: 0, y: 0 }));
  const chains: { edge: LayoutEdge; ids: string[] }[] = [];
  const segs: [string, string][] = [];
  for (const e of uniqueEdges) {
    const ids = [e.from];
    const a = layerOf.get(e.from)!;
    const b = layerOf.get(e.to)!;
    for (let l = a + 1; l < b; l++) {
      const id = `\u0000${e.from}\u0000${e.to}\u0000${l}`;
      addSlot({ id, dummy: true, height: 2, width: 0, layer: l, order: 0, y: 0 });
      ids.push(id);
    }
    ids.push(e.to);
    for (let i = 1; i < ids.length; i++) segs.push([ids[i - 1], ids[i]]);
    chains.push({ edge: e, ids });
  }
  for (let l = 0; l < layers.length; l++) layers[l] ??= [];
  const up = new Map<string, string[]>();
  const down = new Map<string, string[]>();
  for (const [a, b] of segs) {
    (down.get(a) ?? down.set(a, []).get(a)!).push(b);
    (up.get(b) ?? up.set(b, []).get(b)!).push(a);
  }

  // 3. Order within layers: start in input order, then barycentre sweeps down and up.
  layers.forEach((layer) => layer.forEach((s, i) => (s.order = i)));
  const sweep = (layer: Slot[], neighbours: Map<string, string[]>) => {
    const bary = new Map<string, number>();
    for (const s of layer) {
      const ns = neighbours.get(s.id) ?? [];
      bary.set(s.id, ns.length ? ns.reduce((t, n) => t + slots.get(n)!.order, 0) / ns.length : s.order);
    }
    layer.sort((a, b) => bary.get(a.id)! - bary.get(b.id)! || a.order - b.order);
    layer.forEach((s, i) => (s.order = i));
  };
  let best = crossings(layers, down, slots);
  let bestOrder = layers.map((l) => l.map((s) => s.id));
  for (let i = 0; i < sweeps && best > 0; i++) {
    if (i % 2 === 0) for (let l = 1; l < layers.length; l++) sweep(layers[l], up);
    else for (let l = layers.length - 2; l >= 0; l--) sweep(layers[l], down);
    const c = crossings(layers, down, slots);
    if (c < best) {
      best = c;
      bestOrder = layers.map((l) => l.map((s) => s.id));
    }
  }
  bestOrder.forEach((ids, l) => {
    layers[l] = ids.map((id) => slots.get(id)!);
    layers[l].forEach((s, i) => (s.order = i));
  });

  // 4. Vertical positions: stack, then pull each slot towards its neighbours' median, keeping order and gaps.
  const gapOf = (s: Slot) => (s.dummy ? nodeGap / 2 : nodeGap);
  for (const layer of layers) {
    let y = 0;
    for (const s of layer) {
      s.y = y + s.height / 2;
      y += s.height + gapOf(s);
    }
  }
  const centre = (layer: Slot[]) => {
    if (!layer.length) return 0;
    const first = layer[0];
    const last = layer[layer.length - 1];
    return (first.y - first.height / 2 + last.y + last.height / 2) / 2;
  };
  const maxCentre = Math.max(...layers.map((l) => centre(l)), 0);
  for (const layer of layers) {
    const shift = maxCentre - centre(layer);
    layer.forEach((s) => (s.y += shift));
  }
  const relax = (layer: Slot[], neighbours: Map<string, string[]>) => {
    const want = layer.map((s) => {
      const ys = (neighbours.get(s.id) ?? []).map((n) => slots.get(n)!.y).sort((a, b) => a - b);
      if (!ys.length) return s.y;
      const m = ys.length >> 1;
      return ys.length % 2 ? ys[m] : (ys[m - 1] + ys[m]) / 2;
    });
    // Place in order, each as close to its wish as the previous slot allows, then push back up from the bottom.
    for (let i = 0; i < layer.length; i++) {
      const s = layer[i];
      const minY = i === 0 ? -Infinity : layer[i - 1].y + layer[i - 1].height / 2 + gapOf(layer[i - 1]) + s.height / 2;
      s.y = Math.max(want[i], minY);
    }
    for (let i = layer.length - 2; i >= 0; i--) {
      const s = layer[i];
      const next = layer[i + 1];
      const maxY = next.y - next.height / 2 - gapOf(s) - s.height / 2;
      if (s.y > maxY) s.y = Math.max(maxY, Math.min(s.y, want[i]));
    }
  };
  for (let i = 0; i < 4; i++) {
    for (let l = 1; l < layers.length; l++) relax(layers[l], up);
    for (let l = layers.length - 2; l >= 0; l--) relax(layers[l], down);
  }

  // 5. Horizontal positions: each layer as wide as its widest node.
  const layerX: number[] = [];
  let x = margin;
  for (const layer of layers) {
    const w = Math.max(0, ...layer.map((s) => s.width));
    layerX.push(x + w / 2);
    x += w + layerGap;
  }
  let minY = Infinity;
  let maxY = -Infinity;
  for (const s of slots.values()) {
    minY = Math.min(minY, s.y - s.height / 2);
    maxY = Math.max(maxY, s.y + s.height / 2);
  }
  if (!Number.isFinite(minY)) minY = maxY = 0;
  const dy = margin - minY;

  const placed: PlacedNode[] = nodes.map((n) => {
    const s = slots.get(n.id)!;
    return { ...n, x: layerX[s.layer], y: s.y + dy, layer: s.layer };
  });
  const placedById = new Map(placed.map((p) => [p.id, p]));
  const placedEdges: PlacedEdge[] = chains.map(({ edge, ids }) => {
    const a = placedById.get(edge.from)!;
    const b = placedById.get(edge.to)!;
    const points = [{ x: a.x + a.width / 2, y: a.y }];
    for (const id of ids.slice(1, -1)) {
      const s = slots.get(id)!;
      points.push({ x: layerX[s.layer], y: s.y + dy });
    }
    points.push({ x: b.x - b.width / 2, y: b.y });
    return { ...edge, points };
  });
  return { nodes: placed, edges: placedEdges, width: Math.max(x - layerGap + margin, 2 * margin), height: maxY - minY + 2 * margin };
}

/** Edge crossings between neighbouring layers. */
export function crossings(layers: readonly (readonly { id: string; order: number }[])[], down: Map<string, string[]>, slots: Map<string, { order: number }>): number {
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const pairs: [number, number][] = [];
    for (const s of layers[l]) for (const t of down.get(s.id) ?? []) pairs.push([s.order, slots.get(t)!.order]);
    for (let i = 0; i < pairs.length; i++)
      for (let j = i + 1; j < pairs.length; j++) {
        const [a1, b1] = pairs[i];
        const [a2, b2] = pairs[j];
        if ((a1 - a2) * (b1 - b2) < 0) total++;
      }
  }
  return total;
}
