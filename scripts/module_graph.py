#!/usr/bin/env python3
"""The module graph of atexit-core, from its sources: which module uses which
(`crate::x`, `super::x` in code, not in comments or tests), and whether the
graph has a cycle. Run from anywhere:

    scripts/module_graph.py        # the crate's top-level modules
    scripts/module_graph.py files  # every file, submodules included

It prints one line per module, `module -> what it uses`, then `CYCLES: none`
or the cycles found, and exits with 1 when there is one. docs/internals.md
draws the first graph. A text scan, not a compiler: good enough to keep the
layering honest, not a proof.
"""
import os,re,sys,collections
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'atexit-core', 'src'))
root='.'
files={}
for d,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p=os.path.join(d,f)[2:]
            files[p]=open(p).read()
def modname(p):
    p=p[:-3]
    parts=p.split('/')
    if parts[-1]=='mod': parts=parts[:-1]
    if parts==['lib']: return 'lib'
    return '::'.join(parts)
mods={modname(p):p for p in files}
def strip(src):
    out=[]
    for line in src.split('\n'):
        l=line.strip()
        if l.startswith('//'): continue
        out.append(re.sub(r'"[^"]*"','""',line))
    return '\n'.join(out)
# cut #[cfg(test)] mod tests
def no_tests(src):
    i=src.find('#[cfg(test)]\nmod tests')
    return src if i<0 else src[:i]
top=not (len(sys.argv)>1 and sys.argv[1]=='files')
edges=collections.defaultdict(set)
for p,src in files.items():
    m=modname(p)
    if m=='lib': continue
    s=strip(no_tests(src))
    refs=set()
    # expand `crate::{a, b::c}` one level
    def expand(mo):
        inner=mo.group(1)
        return ' '.join('crate::'+i.strip() for i in inner.split(',') if i.strip())
    s=re.sub(r'crate::\{([^{}]*)\}',expand,s)
    # `use super::x` inside an inline module (indented) means this file
    s=re.sub(r'\n    +use super::[^;]*;','\n',s)
    for x in re.findall(r'crate::((?:[a-z_]+::)*[a-z_]+)',s):
        parts=x.split('::')
        # longest module prefix
        for k in range(len(parts),0,-1):
            cand='::'.join(parts[:k])
            if cand in mods: refs.add(cand); break
    # super:: refs
    base=m.split('::')
    parent=base[:-1] if not p.endswith('mod.rs') else base[:-1]
    s=s.replace('super::imp','super::unix')
    for x in re.findall(r'\bsuper::((?:[a-z_]+::)*[a-z_]+|\{)',s):
        par='::'.join(base[:-1])
        if x=='{' : refs.add(par); continue
        parts=x.split('::')
        found=False
        for k in range(len(parts),0,-1):
            cand='::'.join(base[:-1]+parts[:k])
            if cand in mods: refs.add(cand); found=True; break
        if not found and par: refs.add(par)
    # own submodules via `mod x;` and `x::` usage inside mod.rs
    if p.endswith('mod.rs'):
        for sub in re.findall(r'^\s*(?:pub(?:\(crate\))? )?mod ([a-z_]+);',s,re.M):
            cand=m+'::'+sub
            if cand in mods and re.search(r'\b'+sub+r'::',s): refs.add(cand)
    for r in refs:
        if r==m: continue
        if top:
            a=m.split('::')[0]; b=r.split('::')[0]
            if a!=b: edges[a].add(b)
        else:
            edges[m].add(r)
nodes=sorted(set(list(edges)+[x for v in edges.values() for x in v]))
for n in nodes: print(n,'->',', '.join(sorted(edges.get(n,()))))
# cycle check
color={}
cyc=[]
def dfs(u,stack):
    color[u]=1; stack.append(u)
    for v in edges.get(u,()):
        if color.get(v)==1: cyc.append(stack[stack.index(v):]+[v])
        elif not color.get(v): dfs(v,stack)
    stack.pop(); color[u]=2
for n in nodes:
    if not color.get(n): dfs(n,[])
print('CYCLES:',cyc if cyc else 'none')
sys.exit(1 if cyc else 0)
