// Runners for benchmarks/graph_libraries.py: each draws window.DATA into #g.
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
const el = () => document.getElementById('g');
const RUN = {
  'force-graph': async (d) => {
    const t0 = performance.now();
    let first = null;
    const done = new Promise((resolve) => { first = resolve; });
    const g = ForceGraph()(el()).width(1200).height(800).cooldownTicks(0).warmupTicks(0)
      .nodeRelSize(3).onRenderFramePost(() => first && first());
    g.graphData({nodes: d.nodes.map((n) => ({...n, fx: n.x, fy: n.y})),
                 links: d.links.map((l) => ({...l}))});
    await done; await frame();
    const t1 = performance.now();
    window.REDRAW = async () => { for (let i = 0; i < 20; i++) { g.centerAt(i * 5, 0); await frame(); } };
    return t1 - t0;
  },
  'cytoscape': async (d) => {
    const t0 = performance.now();
    const cy = cytoscape({container: el(), layout: {name: 'preset'},
      style: [{selector: 'node', style: {width: 6, height: 6}},
              {selector: 'edge', style: {width: 1}}],
      elements: [...d.nodes.map((n) => ({data: {id: n.id}, position: {x: n.x, y: n.y}})),
                 ...d.links.map((l, i) => ({data: {id: 'e' + i, source: l.source, target: l.target}}))]});
    await new Promise((r) => cy.one('render', r)); await frame();
    const t1 = performance.now();
    window.REDRAW = async () => { for (let i = 0; i < 20; i++) { cy.panBy({x: 5, y: 0}); await new Promise((r) => cy.one('render', r)); await frame(); } };
    return t1 - t0;
  },
  'vis-network': async (d) => {
    const t0 = performance.now();
    const net = new vis.Network(el(), {nodes: d.nodes.map((n) => ({id: n.id, x: n.x, y: n.y})),
      edges: d.links.map((l) => ({from: l.source, to: l.target}))},
      {physics: false, layout: {improvedLayout: false}, nodes: {shape: 'dot', size: 4},
       edges: {smooth: false}, interaction: {hideEdgesOnDrag: false}});
    await new Promise((r) => net.once('afterDrawing', r)); await frame();
    const t1 = performance.now();
    window.REDRAW = async () => { for (let i = 0; i < 20; i++) { const p = net.getViewPosition(); net.moveTo({position: {x: p.x + 5, y: p.y}, animation: false}); await new Promise((r) => net.once('afterDrawing', r)); await frame(); } };
    return t1 - t0;
  },
  'sigma': async (d) => {
    const t0 = performance.now();
    const graph = new graphology.Graph();
    for (const n of d.nodes) graph.addNode(n.id, {x: n.x, y: -n.y, size: 3, label: n.id});
    for (const l of d.links) if (!graph.hasEdge(l.source, l.target)) graph.addEdge(l.source, l.target);
    const s = new Sigma(graph, el());
    await frame(); await frame();
    const t1 = performance.now();
    window.REDRAW = async () => { const c = s.getCamera(); for (let i = 0; i < 20; i++) { c.setState({x: 0.5 + i * 0.001}); s.refresh(); await frame(); } };
    return t1 - t0;
  },
  'canvas (reference)': async (d) => {
    const t0 = performance.now();
    const canvas = document.createElement('canvas'); canvas.width = 1200; canvas.height = 800;
    el().append(canvas);
    const ctx = canvas.getContext('2d');
    const pos = new Map(d.nodes.map((n) => [n.id, n]));
    const draw = (dx) => {
      ctx.clearRect(0, 0, 1200, 800); ctx.save(); ctx.translate(600 + dx, 400); ctx.scale(0.5, 0.5);
      ctx.beginPath();
      for (const l of d.links) { const a = pos.get(l.source), b = pos.get(l.target); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); }
      ctx.stroke(); ctx.beginPath();
      for (const n of d.nodes) { ctx.moveTo(n.x + 3, n.y); ctx.arc(n.x, n.y, 3, 0, 2 * Math.PI); }
      ctx.fill(); ctx.restore();
    };
    draw(0); await frame();
    const t1 = performance.now();
    window.REDRAW = async () => { for (let i = 0; i < 20; i++) { draw(i * 5); await frame(); } };
    return t1 - t0;
  },
};
window.runBench = async (name, which) => {
  const d = which === 'hood' ? window.HOOD : window.DATA;
  const ms = await RUN[name](d);
  let redraw = null;
  if (which === 'full') { const t = performance.now(); await window.REDRAW(); redraw = (performance.now() - t) / 20; }
  return {ms, redraw};
};
