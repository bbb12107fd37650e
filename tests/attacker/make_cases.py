#!/usr/bin/env python3
"""Hand-made run folders for attack.py (independent of the pipeline).

    python make_cases.py OUT_DIR [--case NAME ...] [--national-seed S]

Each case is OUT_DIR/<case>/ laid out like runs/<run-id>/ (published/indicators hive
partitions with skolegang.disclosure_k in the footer, published/rankings,
disclosure/cells.parquet) plus expected.json: what attack.py must report.

A case is a small "world" of true counts per (period, kommune, finest group) that is
aggregated to every cell of the cross product (kommune, region, Danmark; groups and
placements) exactly as the methodology says, then withheld by the primary rules and by
a case-specific (deliberately imperfect or adequate) choice of secondary cells.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attack import MUNICIPALITIES, REGIONS, PLACEMENT_GROUPS  # code lists only  # noqa: E402

EN = "\u2013"
Z = 1.959964
K = 5
TYPE_GROUP = {t: g for g, ts in PLACEMENT_GROUPS.items() for t in ts}
SCHOOL_IND = {
    'fp9_participation': ('participants', 'cohort'),
    'fp9_min2_dan_mat': ('min2', 'cohort'),
    'fp9_min2_dan_mat_takers': ('min2', 'participants'),
    'fp9_passed': ('passed', 'cohort'),
    'fp9_grade_mean': (None, 'graded'),
    'transition_15m': ('transition', 'cohort'),
    'school_offer_almen': ('almen', 'cohort'),
}
AGE_IND = ('youth_edu_18', 'youth_edu_completed_25', 'no_fp9_by_17')
SCHOOL_KINDS = ('cohort', 'graded', 'participants', 'min2', 'passed', 'transition', 'almen',
                'gradesum', 'gradesq')


def school(cohort, graded=None, participants=None, min2=None, passed=None, transition=None,
           almen=None, mean=6.5):
    """Consistent 9th-grade counts of one finest cell (defaults are plausible shares)."""
    graded = cohort if graded is None else graded
    participants = round(0.85 * graded) if participants is None else participants
    min2 = round(0.8 * participants) if min2 is None else min2
    passed = round(0.9 * participants) if passed is None else passed
    transition = round(0.7 * cohort) if transition is None else transition
    almen = round(0.9 * cohort) if almen is None else almen
    assert min2 <= participants <= graded <= cohort and passed <= participants
    assert transition <= cohort and almen <= cohort
    gs = mean * graded
    return dict(cohort=cohort, graded=graded, participants=participants, min2=min2, passed=passed,
                transition=transition, almen=almen, gradesum=gs, gradesq=graded * (mean ** 2 + 4.0))


def age(pop, num=None):
    num = round(0.6 * pop) if num is None else num
    assert 0 <= num <= pop
    return dict(pop=pop, num=num)


def fine_places(fine):
    """finest group -> the (group, placement) cells it counts in."""
    if fine in ('oevrige',):
        return [('oevrige', 'alle'), ('alle', 'alle')]
    if fine == 'forebyggende':
        return [('forebyggende', 'alle'), ('udsat', 'alle'), ('alle', 'alle')]
    t = fine  # placement type of an anbragt
    out = [('anbragt', t), ('anbragt', 'alle'), ('udsat', 'alle'), ('alle', 'alle')]
    if TYPE_GROUP[t] != t:
        out.append(('anbragt', TYPE_GROUP[t]))
    return out


def geos_of(kommune):
    return [kommune, MUNICIPALITIES[kommune][1], 0]


def geo_level(g):
    return 'land' if g == 0 else ('region' if g in REGIONS else 'kommune')


def geo_name(g):
    return 'Danmark' if g == 0 else (REGIONS[g] if g in REGIONS else MUNICIPALITIES[g][0])


def places():
    out = [('alle', 'alle'), ('udsat', 'alle'), ('oevrige', 'alle'), ('forebyggende', 'alle'),
           ('anbragt', 'alle')]
    for g in PLACEMENT_GROUPS:
        out.append(('anbragt', g))
    for ts in PLACEMENT_GROUPS.values():
        for t in ts:
            if ('anbragt', t) not in out:
                out.append(('anbragt', t))
    return out


class World:
    """true[family][year][(kommune, fine)] = {kind: count}"""

    def __init__(self):
        self.true = defaultdict(lambda: defaultdict(dict))

    def put(self, family, year, kommune, fine, counts):
        self.true[family][year][(kommune, fine)] = counts

    def aggregate(self, family, years):
        agg = defaultdict(lambda: defaultdict(float))
        for y in years:
            for (kommune, fine), counts in self.true[family][y].items():
                for geo in geos_of(kommune):
                    for pl in fine_places(fine):
                        for kind, x in counts.items():
                            agg[(geo,) + pl][kind] += x
        return agg


def period_str(family, y, years):
    if family == 'school':
        return f'{y}/{y + 1}' if years == 1 else f'{y - 2}/{y - 1}{EN}{y}/{y + 1}'
    return f'{y}' if years == 1 else f'{y - 2}{EN}{y}'


def wilson(x, n):
    if n == 0:
        return None, None
    p = x / n
    d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d
    return c - h, c + h


def primary(ind, num, den, k):
    if ind in ('fp9_min2_dan_mat_takers', 'fp9_grade_mean') and den < k:
        return 'primary_subpopulation'
    if ind == 'fp9_grade_mean':
        return None
    if 1 <= den <= k - 1:
        return 'primary_denominator'
    if 1 <= num <= k - 1:
        return 'primary_numerator'
    if 1 <= den - num <= k - 1:
        return 'primary_complement'
    if 1 <= den <= 2 * k - 1 and (num == 0 or num == den):
        return 'primary_group'
    return None


def build_cells(world, indicators, years_by_ind, windows_by_ind, k):
    """All present cells with true counts: dict (ind, period, geo, group, placement) -> cell."""
    cells = {}
    for ind in indicators:
        fam = 'school' if ind in SCHOOL_IND else ind
        specs = [(y, 1, [y]) for y in years_by_ind[ind]] + \
                [(y, 3, [y - 2, y - 1, y]) for y in windows_by_ind.get(ind, [])]
        for y, nyears, ys in specs:
            agg = world.aggregate(fam, ys)
            per = period_str(fam, y, nyears)
            for (geo, g, p), c in agg.items():
                if fam == 'school':
                    if c['cohort'] < 1:
                        continue
                    num_k, den_k = SCHOOL_IND[ind]
                    den = int(round(c[den_k]))
                    num = int(round(c[num_k])) if num_k else None
                    gs, gq = c['gradesum'], c['gradesq']
                else:
                    if c['pop'] < 1:
                        continue
                    den, num = int(round(c['pop'])), int(round(c['num']))
                    gs = gq = None
                cells[(ind, per, geo, g, p)] = dict(
                    indicator=ind, period=per, year=y, years=nyears, geo=geo, group=g, placement=p,
                    num=num, den=den, gs=gs if ind == 'fp9_grade_mean' else None,
                    gq=gq if ind == 'fp9_grade_mean' else None, suppressed=False, reason=None)
    for c in cells.values():
        r = primary(c['indicator'], c['num'], c['den'], k)
        if r:
            c['suppressed'], c['reason'] = True, r
    return cells


def withhold(cells, pred):
    n = 0
    for key, c in cells.items():
        if not c['suppressed'] and pred(key, c):
            c['suppressed'], c['reason'] = True, 'secondary'
            n += 1
    return n


def naive_secondary(cells, rounds=6):
    """Classic 'no lonely withheld cell in a relation' heuristic (not interval protection)."""
    PL = places()
    region_k = defaultdict(list)
    for c, (_, r) in MUNICIPALITIES.items():
        region_k[r].append(c)
    by_ip = defaultdict(dict)
    for key, c in cells.items():
        by_ip[key[:2]][key[2:]] = c
    types = [t for ts in PLACEMENT_GROUPS.values() for t in ts]
    for _ in range(rounds):
        changed = 0
        for ip, cc in by_ip.items():
            rels = []
            for g, p in PL:
                rels.append([(0, g, p)] + [(r, g, p) for r in REGIONS])
                for r in REGIONS:
                    rels.append([(r, g, p)] + [(m, g, p) for m in region_k[r]])
            geos = {key[0] for key in cc}
            for geo in geos:
                rels.append([(geo, 'alle', 'alle'), (geo, 'udsat', 'alle'), (geo, 'oevrige', 'alle')])
                rels.append([(geo, 'udsat', 'alle'), (geo, 'anbragt', 'alle'), (geo, 'forebyggende', 'alle')])
                rels.append([(geo, 'anbragt', 'alle')] + [(geo, 'anbragt', g) for g in PLACEMENT_GROUPS])
                rels.append([(geo, 'anbragt', 'alle')] + [(geo, 'anbragt', t) for t in types])
                for g, ts in PLACEMENT_GROUPS.items():
                    if ts != [g]:
                        rels.append([(geo, 'anbragt', g)] + [(geo, 'anbragt', t) for t in ts])
            for rel in rels:
                present = [cc[x] for x in rel if x in cc]
                w = [c for c in present if c['suppressed']]
                if len(w) == 1:
                    pub = [c for c in present[1:] if not c['suppressed']] or \
                          [c for c in present if not c['suppressed']]
                    if pub:
                        c = min(pub, key=lambda c: c['den'])
                        c['suppressed'], c['reason'] = True, 'secondary'
                        changed += 1
        if not changed:
            break


def write_run(out, cells, k, rankings=None, include_indicator_col=False):
    if os.path.exists(out):
        shutil.rmtree(out)
    by_ind = defaultdict(list)
    for c in cells.values():
        by_ind[c['indicator']].append(c)
    schema_fields = [
        ('period', pa.string()), ('year', pa.int32()), ('geo_level', pa.string()),
        ('geo_code', pa.int32()), ('geo_name', pa.string()), ('group', pa.string()),
        ('placement', pa.string()), ('numerator', pa.int64()), ('denominator', pa.int64()),
        ('value', pa.float64()), ('ci_low', pa.float64()), ('ci_high', pa.float64()),
        ('years', pa.int32()), ('suppressed', pa.bool_())]
    if include_indicator_col:
        schema_fields = [('indicator', pa.string())] + schema_fields
    schema = pa.schema(schema_fields, metadata={b'skolegang.disclosure_k': str(k).encode()})
    for ind, cs in by_ind.items():
        cs.sort(key=lambda c: (c['years'], c['year'], c['geo'], c['group'], c['placement']))
        cols = defaultdict(list)
        for c in cs:
            mean = ind == 'fp9_grade_mean'
            s = c['suppressed']
            if mean:
                n = c['den']
                v = c['gs'] / n if n else None
                if n and n >= 2:
                    var = (c['gq'] - c['gs'] ** 2 / n) / (n - 1)
                    hw = Z * math.sqrt(max(var, 0)) / math.sqrt(n)
                    lo, hi = v - hw, v + hw
                else:
                    lo = hi = None
                num = None
            else:
                num, n = c['num'], c['den']
                v = num / n if n else None
                lo, hi = wilson(num, n)
            if include_indicator_col:
                cols['indicator'].append(ind)
            cols['period'].append(c['period']); cols['year'].append(c['year'])
            cols['geo_level'].append(geo_level(c['geo'])); cols['geo_code'].append(c['geo'])
            cols['geo_name'].append(geo_name(c['geo'])); cols['group'].append(c['group'])
            cols['placement'].append(c['placement'])
            cols['numerator'].append(None if s else num)
            cols['denominator'].append(None if s else n)
            cols['value'].append(None if s else v)
            cols['ci_low'].append(None if s else lo); cols['ci_high'].append(None if s else hi)
            cols['years'].append(c['years']); cols['suppressed'].append(s)
        t = pa.table({f: cols[f] for f, _ in schema_fields}, schema=schema)
        d = os.path.join(out, 'published', 'indicators', f'indicator={ind}')
        os.makedirs(d, exist_ok=True)
        pq.write_table(t, os.path.join(d, 'part-0.parquet'))
    # private record
    rows = defaultdict(list)
    for c in cells.values():
        for f, x in (('indicator', c['indicator']), ('period', c['period']), ('year', c['year']),
                     ('years', c['years']), ('geo_code', c['geo']), ('group', c['group']),
                     ('placement', c['placement']), ('numerator', c['num']),
                     ('denominator', c['den']), ('grade_sum', c['gs']),
                     ('suppressed', c['suppressed']), ('reason', c['reason'])):
            rows[f].append(x)
    os.makedirs(os.path.join(out, 'disclosure'), exist_ok=True)
    pq.write_table(pa.table(rows), os.path.join(out, 'disclosure', 'cells.parquet'))
    if rankings is not None:
        os.makedirs(os.path.join(out, 'published', 'rankings'), exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rankings, schema=pa.schema([
            ('window', pa.string()), ('year', pa.int32()), ('municipality_code', pa.int32()),
            ('municipality_name', pa.string()), ('rank_participation', pa.int32()),
            ('rank_grade_mean', pa.int32()), ('rank_transition', pa.int32()),
            ('ranked_participation', pa.int32()), ('ranked_grade_mean', pa.int32()),
            ('ranked_transition', pa.int32()), ('mean_rank', pa.float64()),
            ('bottom15_all', pa.bool_())])), os.path.join(out, 'published', 'rankings', 'part-0.parquet'))


def make_rankings(cells, years, use_truth_for=()):
    """Ranking from published cells (or, for municipalities in use_truth_for, wrongly from
    the true value even when a yearly cell is withheld)."""
    meas = [('participation', 'fp9_participation'), ('grade_mean', 'fp9_grade_mean'),
            ('transition', 'transition_15m')]
    out = []
    for Y in years:
        vals = {}
        for name, ind in meas:
            vals[name] = {}
            for mu in MUNICIPALITIES:
                cs = [cells.get((ind, f'{y}/{y + 1}', mu, 'alle', 'alle')) for y in (Y - 2, Y - 1, Y)]
                if any(c is None for c in cs):
                    continue
                if any(c['suppressed'] for c in cs) and mu not in use_truth_for:
                    continue
                den = sum(c['den'] for c in cs)
                vals[name][mu] = (sum(c['gs'] for c in cs) if ind == 'fp9_grade_mean'
                                  else sum(c['num'] for c in cs)) / den
        ranks = {n: {mu: 1 + sum(1 for o in v.values() if o > x) for mu, x in v.items()}
                 for n, v in vals.items()}
        if not any(all(mu in ranks[n] for n, _ in meas) for mu in MUNICIPALITIES):
            continue
        for mu in MUNICIPALITIES:
            rk = [ranks[n].get(mu) for n, _ in meas]
            full = all(r is not None for r in rk)
            out.append({'window': f'{Y - 2}/{Y - 1}{EN}{Y}/{Y + 1}', 'year': Y, 'municipality_code': mu,
                        'municipality_name': MUNICIPALITIES[mu][0],
                        'rank_participation': rk[0], 'rank_grade_mean': rk[1], 'rank_transition': rk[2],
                        'ranked_participation': len(ranks['participation']),
                        'ranked_grade_mean': len(ranks['grade_mean']),
                        'ranked_transition': len(ranks['transition']),
                        'mean_rank': sum(rk) / 3 if full else None,
                        'bottom15_all': all(sum(1 for o in vals[n].values() if o < vals[n][mu]) < 15
                                            for n, _ in meas) if full else None})
    return out


# ----------------------------------------------------------------------------------------
# the cases
# ----------------------------------------------------------------------------------------
MORSO, THISTED, FREDERIKSHAVN, LAESO, HJORRING = 773, 787, 813, 825, 860
Y = 2023


def case_subtraction():
    """One withheld kommune cell pinned by subtraction (alle - oevrige; region - siblings)."""
    w = World()
    for mu in (MORSO, THISTED, FREDERIKSHAVN):
        w.put('school', Y, mu, 'oevrige', school(60, participants=50))
        w.put('school', Y, mu, 'forebyggende', school(20 if mu != MORSO else 3,
                                                      participants=12 if mu != MORSO else 2))
    cells = build_cells(w, ['fp9_participation'], {'fp9_participation': [Y]}, {}, K)
    exp = {'exit': 1, 'must': [
        {'class': 'count:pinned', 'geo_code': MORSO, 'group': 'forebyggende', 'count': 'cohort', 'range': [3, 3]},
        {'class': 'count:pinned', 'geo_code': MORSO, 'group': 'udsat', 'count': 'participants', 'range': [2, 2]}],
        'truth_must': ['requirement_violation:primary']}
    return cells, exp, None


def case_bounds():
    """Frederikshavn-style: the published siblings leave 2 for two withheld numerators."""
    w = World()
    for mu, fore in ((MORSO, school(30, participants=1, min2=0, passed=0)),
                     (THISTED, school(30, participants=1, min2=0, passed=0)),
                     (FREDERIKSHAVN, school(40, participants=30))):
        w.put('school', Y, mu, 'oevrige', school(80, participants=70))
        w.put('school', Y, mu, 'forebyggende', fore)
    cells = build_cells(w, ['fp9_participation'], {'fp9_participation': [Y]}, {}, K)
    # secondary: the whole of Morsø and Thisted (so nothing is pinned by subtraction)
    withhold(cells, lambda key, c: key[2] in (MORSO, THISTED))
    exp = {'exit': 1, 'must': [
        {'class': 'count:narrow', 'geo_code': MORSO, 'group': 'forebyggende', 'count': 'participants', 'range': [0, 2]},
        {'class': 'count:narrow', 'geo_code': THISTED, 'group': 'forebyggende', 'count': 'participants', 'range': [0, 2]}],
        'must_not': [{'geo_code': MORSO, 'group': 'forebyggende', 'count': 'cohort'}],
        'truth_must': ['requirement_violation:primary']}
    return cells, exp, None


def case_existence():
    """Three withheld placement groups in a total of 3: existence pins each at 1."""
    w = World()
    w.put('school', Y, HJORRING, 'oevrige', school(200, participants=170))
    w.put('school', Y, HJORRING, 'forebyggende', school(30, participants=20))
    w.put('school', Y, HJORRING, 'plejefamilie', school(12, participants=7, min2=5, passed=6))
    for t in ('doegninstitution', 'kostskole_efterskole', 'uoplyst'):
        w.put('school', Y, HJORRING, t, school(1, participants=0, min2=0, passed=0))
    cells = build_cells(w, ['fp9_participation'], {'fp9_participation': [Y]}, {}, K)
    exp = {'exit': 1, 'must': [
        {'class': 'count:pinned', 'geo_code': HJORRING, 'group': 'anbragt', 'placement': p,
         'count': 'cohort', 'range': [1, 1]} for p in ('institution', 'anden', 'uoplyst')],
        'truth_must': ['requirement_violation:primary']}
    return cells, exp, None


def case_nesting():
    """participants 9, passed 8 both published (difference 1), and a withheld passed count
    that the region total and the sibling's nesting squeeze to [8, 9]."""
    w = World()
    w.put('school', Y, MORSO, 'oevrige', school(40, participants=9, min2=6, passed=8))
    w.put('school', Y, THISTED, 'oevrige', school(40, participants=9, min2=6, passed=8))
    w.put('school', Y, FREDERIKSHAVN, 'oevrige', school(60, participants=30, min2=20, passed=30))
    cells = build_cells(w, ['fp9_participation', 'fp9_passed'],
                        {'fp9_participation': [Y], 'fp9_passed': [Y]}, {}, K)
    withhold(cells, lambda key, c: key[0] == 'fp9_passed' and key[2] in (THISTED, FREDERIKSHAVN))
    exp = {'exit': 1, 'must': [
        {'class': 'published_small_difference', 'geo_code': MORSO, 'group': 'oevrige',
         'count': 'participants - passed', 'range': [1, 1]},
        {'class': 'difference:narrow', 'geo_code': THISTED, 'group': 'oevrige',
         'count': 'participants - passed', 'range': [0, 1]}],
        'truth_must': ['requirement_violation:nested']}
    return cells, exp, None


def case_window():
    """A kommune's withheld year is the published window minus its published years."""
    w = World()
    for y in (2018, 2019, 2020):
        for mu in (MORSO, THISTED, FREDERIKSHAVN):
            small = (mu == MORSO and y == 2020)
            w.put('school', y, mu, 'oevrige', school(60, participants=50))
            w.put('school', y, mu, 'forebyggende', school(3 if small else 20,
                                                          participants=2 if small else 12))
    cells = build_cells(w, ['fp9_participation'], {'fp9_participation': [2018, 2019, 2020]},
                        {'fp9_participation': [2020]}, K)
    withhold(cells, lambda key, c: key[1] == '2020/2021' and key[2] in (MORSO, THISTED))
    exp = {'exit': 1, 'must': [
        {'class': 'count:pinned', 'geo_code': MORSO, 'period': '2020/2021', 'group': 'forebyggende',
         'count': 'cohort', 'range': [3, 3]}],
        'truth_must': ['requirement_violation:primary']}
    return cells, exp, None


def case_safe():
    """Adequately protected: two whole large kommuner withheld around one small cell."""
    w = World()
    for mu, f in ((MORSO, 3), (THISTED, 40), (FREDERIKSHAVN, 50), (HJORRING, 45)):
        w.put('school', Y, mu, 'oevrige', school(100 + mu % 7, participants=80))
        w.put('school', Y, mu, 'forebyggende', school(f, participants=max(0, f - 10) if f > 5 else 2))
    cells = build_cells(w, ['fp9_participation'], {'fp9_participation': [Y]}, {}, K)
    withhold(cells, lambda key, c: key[2] in (MORSO, THISTED))
    return cells, {'exit': 0, 'must': [], 'truth_exit': 0}, None


def case_subpop_zero():
    """fp9_min2_dan_mat_takers withheld (0 participants) but participants = 0 is published
    as the numerator of fp9_participation: a count known everywhere it is shared."""
    w = World()
    w.put('school', Y, MORSO, 'oevrige', school(80, participants=60))
    w.put('school', Y, MORSO, 'forebyggende', school(12, participants=0, min2=0, passed=0))
    w.put('school', Y, THISTED, 'oevrige', school(80, participants=60))
    w.put('school', Y, THISTED, 'forebyggende', school(14, participants=6, min2=5, passed=5))
    inds = ['fp9_participation', 'fp9_min2_dan_mat_takers']
    cells = build_cells(w, inds, {i: [Y] for i in inds}, {}, K)
    exp = {'exit': 1, 'must': [
        {'class': 'count:known_zero', 'geo_code': MORSO, 'group': 'forebyggende', 'count': 'participants'}],
        'truth_must': ['requirement_violation:primary']}
    return cells, exp, None


def case_ranking():
    """Four kommuner; one is ranked although a yearly alle cell is withheld."""
    w = World()
    mus = (MORSO, THISTED, FREDERIKSHAVN, HJORRING)
    for y in (2019, 2020, 2021):
        for i, mu in enumerate(mus):
            w.put('school', y, mu, 'oevrige', school(100 + 10 * i + y % 5, participants=70 + 5 * i,
                                                     transition=60 + 7 * i, mean=5 + i * 0.5))
            w.put('school', y, mu, 'forebyggende', school(20, participants=10))
    inds = ['fp9_participation', 'fp9_grade_mean', 'transition_15m']
    cells = build_cells(w, inds, {i: [2019, 2020, 2021] for i in inds}, {}, K)
    # Hjørring's 2020 alle participation cell withheld (with its siblings, for the test)
    withhold(cells, lambda key, c: key[0] == 'fp9_participation' and key[1] == '2020/2021'
             and key[2] in (HJORRING, FREDERIKSHAVN))
    rk = make_rankings(cells, [2021], use_truth_for=(HJORRING,))
    exp = {'exit': 1, 'must_classes': ['ranking_not_recomputable', 'ranking_N']}
    return cells, exp, rk


def case_ranking_ok():
    cells, _, _ = case_ranking()
    for c in cells.values():
        if c['reason'] == 'secondary':
            c['suppressed'], c['reason'] = False, None
    rk = make_rankings(cells, [2021])
    return cells, {'exit': 0, 'must': []}, rk


def case_national_heavy():
    """National run with generous withholding (every cell with denominator < 40 and all
    placement cells of a kommune), then the naive heuristic: most ranges wide."""
    cells, exp, rk = case_national(seed=2)
    withhold(cells, lambda key, c: c['den'] < 40 or (key[3] == 'anbragt' and key[4] != 'alle'
                                                     and key[2] in MUNICIPALITIES))
    naive_secondary(cells)
    rk = make_rankings(cells, [2020, 2021, 2022, 2023])
    return cells, exp, rk


def case_region(seed=3):
    """One region (Nordjylland), all indicators, 3 years + window, random counts, primary
    suppression + naive secondary: for cross-checking the LP machinery."""
    rnd = random.Random(seed)
    w = World()
    types = [t for ts in PLACEMENT_GROUPS.values() for t in ts]
    for mu in [c for c, (_, r) in MUNICIPALITIES.items() if r == 1081]:
        for y in (2018, 2019, 2020):
            for fine in ['oevrige', 'forebyggende'] + types:
                n = rnd.randint(20, 200) if fine == 'oevrige' else rnd.choice([0, 0, 1, 2, 3, 5, 8, 12, 20])
                if n == 0:
                    continue
                gr = rnd.randint(max(0, n - 3), n)
                pa_ = rnd.randint(0, gr)
                w.put('school', y, mu, fine, school(n, graded=gr, participants=pa_,
                                                   min2=rnd.randint(0, pa_), passed=rnd.randint(0, pa_),
                                                   transition=rnd.randint(0, n), almen=rnd.randint(0, n),
                                                   mean=rnd.uniform(0, 10)))
                for ind in AGE_IND:
                    p = max(1, n + rnd.randint(-2, 2))
                    w.put(ind, y, mu, fine, age(p, rnd.randint(0, p)))
    inds = list(SCHOOL_IND) + list(AGE_IND)
    cells = build_cells(w, inds, {i: [2018, 2019, 2020] for i in inds}, {i: [2020] for i in inds}, K)
    naive_secondary(cells)
    return cells, {'exit': None}, make_rankings(cells, [2020])


def case_national(seed=1, years=(2018, 2019, 2020, 2021, 2022, 2023)):
    """Synthetic national run: all kommuner, all ten indicators, yearly and window cells,
    primary suppression + a naive secondary heuristic.  For speed and coverage."""
    rnd = random.Random(seed)
    w = World()
    types = [t for ts in PLACEMENT_GROUPS.values() for t in ts]
    for mu in MUNICIPALITIES:
        size = rnd.choice([0.02, 0.1, 0.3, 0.6, 1, 1, 2, 3, 6, 12])
        for y in years:
            base = max(1, int(size * 600 * rnd.uniform(0.9, 1.1)))
            for fine, share in [('oevrige', 1.0), ('forebyggende', 0.06)] + \
                                [(t, 0.015 * rnd.random()) for t in types]:
                n = int(round(base * share * rnd.uniform(0.5, 1.5)))
                if mu == 411:   # Christiansø
                    n = 0
                if n <= 0:
                    continue
                udsat = fine != 'oevrige'
                gr = int(round(n * rnd.uniform(0.85, 1.0)))
                pa_ = int(round(gr * (rnd.uniform(0.5, 0.8) if udsat else rnd.uniform(0.85, 0.97))))
                m2 = int(round(pa_ * (rnd.uniform(0.4, 0.8) if udsat else rnd.uniform(0.85, 0.95))))
                ps = int(round(pa_ * rnd.uniform(0.7, 1.0)))
                tr = int(round(n * (rnd.uniform(0.4, 0.7) if udsat else rnd.uniform(0.8, 0.95))))
                al = int(round(n * (rnd.uniform(0.5, 0.9) if udsat else rnd.uniform(0.9, 1.0))))
                w.put('school', y, mu, fine, school(n, graded=gr, participants=pa_, min2=m2, passed=ps,
                                                   transition=tr, almen=al,
                                                   mean=rnd.uniform(3, 9)))
                for ind in AGE_IND:
                    p = int(round(n * rnd.uniform(0.8, 1.2)))
                    w.put(ind, y, mu, fine, age(p, int(round(p * rnd.uniform(0.3, 0.95)))))
    inds = list(SCHOOL_IND) + list(AGE_IND)
    yrs = {i: list(years) for i in inds}
    yrs['transition_15m'] = list(years[:-1])     # transition needs a later extract
    wins = {i: [y for y in years if y % 3 == 1 and y - 2 in yrs[i] and y in yrs[i]] for i in inds}
    cells = build_cells(w, inds, yrs, wins, K)
    naive_secondary(cells)
    rk = make_rankings(cells, [y for y in years[2:]])
    return cells, {'exit': None}, rk


CASES = {
    'subtraction': case_subtraction, 'bounds': case_bounds, 'existence': case_existence,
    'nesting': case_nesting, 'window': case_window, 'safe': case_safe,
    'subpop_zero': case_subpop_zero, 'ranking': case_ranking, 'ranking_ok': case_ranking_ok,
    'national': case_national, 'national_heavy': case_national_heavy, 'region': case_region,
}


def matches(f, want):
    for key, v in want.items():
        if key == 'class':
            continue
        got = f.get(key)
        if key == 'range':
            if got is None or any(g is None or abs(float(g) - float(w)) > 1e-6 for g, w in zip(got, v)):
                return False
        elif key == 'placement' or key == 'group' or key == 'count' or key == 'period':
            if got != v:
                return False
        elif got != v:
            return False
    return True


def check(out, names):
    """Run attack.py on each case and compare with expected.json; returns failures."""
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    fails = []
    for name in names:
        d = os.path.join(out, name)
        exp = json.load(open(os.path.join(d, 'expected.json')))
        if exp.get('exit') is None:
            continue
        for truth in (False, True):
            j = os.path.join(d, 'attack-truth.json' if truth else 'attack.json')
            cmd = [sys.executable, os.path.join(here, 'attack.py'), d, '--json', j, '--quiet']
            if truth:
                cmd.append('--truth')
            r = subprocess.run(cmd, capture_output=True, text=True)
            res = json.load(open(j))
            find = res['findings']
            want_exit = exp.get('truth_exit', exp['exit']) if truth else exp['exit']
            if r.returncode != want_exit:
                fails.append(f'{name}{" --truth" if truth else ""}: exit {r.returncode}, expected {want_exit}')
            if not truth:
                for w in exp.get('must', []):
                    if not any(matches(f, w) for f in find.get(w['class'], [])):
                        fails.append(f'{name}: missing {w}')
                for w in exp.get('must_not', []):
                    for cls, fs in find.items():
                        if cls.startswith(('count:', 'difference:')) and any(matches(f, w) for f in fs):
                            fails.append(f'{name}: unexpected {cls} {w}')
                for cls in exp.get('must_classes', []):
                    if not find.get(cls):
                        fails.append(f'{name}: no finding of class {cls}')
            else:
                for cls in exp.get('truth_must', []):
                    if not find.get(cls):
                        fails.append(f'{name} --truth: no finding of class {cls}')
                for cls in ('model_sanity', 'truth_inconsistent', 'infeasible_component',
                            'inconsistent_relations', 'inconsistent_published', 'inconsistent_bounds'):
                    if find.get(cls):
                        fails.append(f'{name} --truth: {cls}: {find[cls][:2]}')
            print(f'{name}{" --truth" if truth else "":8s} exit {r.returncode} '
                  f'classes {sorted((c, len(v)) for c, v in find.items())}')
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--case', action='append')
    ap.add_argument('--check', action='store_true', help='also run attack.py and compare with expected.json')
    a = ap.parse_args()
    names = a.case or [n for n in CASES if not n.startswith('national')]
    for name in names:
        cells, exp, rk = CASES[name]()
        d = os.path.join(a.out, name)
        write_run(d, cells, K, rk, include_indicator_col=(name == 'nesting'))
        with open(os.path.join(d, 'expected.json'), 'w') as f:
            json.dump(exp, f, indent=1)
        nw = sum(c['suppressed'] for c in cells.values())
        print(f'{d}: {len(cells)} cells, {nw} withheld')
    if a.check:
        fails = check(a.out, names)
        print('\n'.join(['FAIL ' + f for f in fails]) or 'all cases as expected')
        sys.exit(1 if fails else 0)


if __name__ == '__main__':
    main()
