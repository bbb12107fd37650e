#!/usr/bin/env python3
"""Independent disclosure attacker for Skolegang published tables (methodology v2).

Written from shared/spec/methodology.md and data-contract.md only (not from the
pipeline's Rust code).  From `published/` alone it builds the attacker's linear
system (published counts, additive relations, shared counts, existence / absence,
0 <= x <= n, grade-sum bounds, nesting, three-year windows) and computes, by linear
programming over the REAL solutions, the range [min, max] of every withheld count and
of every difference of nested counts.  It checks the published ranking is recomputable
from published cells.  With --truth it also reads disclosure/cells.parquet and checks
the methodology's requirement (interval protection) exactly.

Usage:  python attack.py RUN_DIR [--k K] [--truth] [--json OUT.json] [--limit-seconds S]
Exit:   0 nothing exposed / no violation, 1 findings, 2 usage or input error,
        3 stopped by --limit-seconds before finishing (and nothing found so far).
See README.md beside this file.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import os
import sys
import time
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

try:  # HiGHS directly (warm starts); falls back to scipy.optimize.linprog(method='highs')
    import highspy
except ImportError:  # pragma: no cover
    highspy = None

EN_DASH = "\u2013"
INF = float("inf")
TOL = 1e-6
REAL_RTOL = 1e-9   # relative slack of grade-sum rows (value * n is a float)

# --------------------------------------------------------------------------------------
# Code lists (embedded copy of shared/spec/codes/*.csv; --codes DIR overrides)
# --------------------------------------------------------------------------------------
MUNICIPALITIES = {
    101: ('København', 1084), 147: ('Frederiksberg', 1084), 151: ('Ballerup', 1084),
    153: ('Brøndby', 1084), 155: ('Dragør', 1084), 157: ('Gentofte', 1084),
    159: ('Gladsaxe', 1084), 161: ('Glostrup', 1084), 163: ('Herlev', 1084),
    165: ('Albertslund', 1084), 167: ('Hvidovre', 1084), 169: ('Høje-Taastrup', 1084),
    173: ('Lyngby-Taarbæk', 1084), 175: ('Rødovre', 1084), 183: ('Ishøj', 1084),
    185: ('Tårnby', 1084), 187: ('Vallensbæk', 1084), 190: ('Furesø', 1084),
    201: ('Allerød', 1084), 210: ('Fredensborg', 1084), 217: ('Helsingør', 1084),
    219: ('Hillerød', 1084), 223: ('Hørsholm', 1084), 230: ('Rudersdal', 1084),
    240: ('Egedal', 1084), 250: ('Frederikssund', 1084), 253: ('Greve', 1085),
    259: ('Køge', 1085), 260: ('Halsnæs', 1084), 265: ('Roskilde', 1085),
    269: ('Solrød', 1085), 270: ('Gribskov', 1084), 306: ('Odsherred', 1085),
    316: ('Holbæk', 1085), 320: ('Faxe', 1085), 326: ('Kalundborg', 1085),
    329: ('Ringsted', 1085), 330: ('Slagelse', 1085), 336: ('Stevns', 1085),
    340: ('Sorø', 1085), 350: ('Lejre', 1085), 360: ('Lolland', 1085),
    370: ('Næstved', 1085), 376: ('Guldborgsund', 1085), 390: ('Vordingborg', 1085),
    400: ('Bornholm', 1084), 410: ('Middelfart', 1083), 411: ('Christiansø', 1084),
    420: ('Assens', 1083), 430: ('Faaborg-Midtfyn', 1083), 440: ('Kerteminde', 1083),
    450: ('Nyborg', 1083), 461: ('Odense', 1083), 479: ('Svendborg', 1083),
    480: ('Nordfyns', 1083), 482: ('Langeland', 1083), 492: ('Ærø', 1083),
    510: ('Haderslev', 1083), 530: ('Billund', 1083), 540: ('Sønderborg', 1083),
    550: ('Tønder', 1083), 561: ('Esbjerg', 1083), 563: ('Fanø', 1083),
    573: ('Varde', 1083), 575: ('Vejen', 1083), 580: ('Aabenraa', 1083),
    607: ('Fredericia', 1083), 615: ('Horsens', 1082), 621: ('Kolding', 1083),
    630: ('Vejle', 1083), 657: ('Herning', 1082), 661: ('Holstebro', 1082),
    665: ('Lemvig', 1082), 671: ('Struer', 1082), 706: ('Syddjurs', 1082),
    707: ('Norddjurs', 1082), 710: ('Favrskov', 1082), 727: ('Odder', 1082),
    730: ('Randers', 1082), 740: ('Silkeborg', 1082), 741: ('Samsø', 1082),
    746: ('Skanderborg', 1082), 751: ('Aarhus', 1082), 756: ('Ikast-Brande', 1082),
    760: ('Ringkøbing-Skjern', 1082), 766: ('Hedensted', 1082), 773: ('Morsø', 1081),
    779: ('Skive', 1082), 787: ('Thisted', 1081), 791: ('Viborg', 1082),
    810: ('Brønderslev', 1081), 813: ('Frederikshavn', 1081), 820: ('Vesthimmerlands', 1081),
    825: ('Læsø', 1081), 840: ('Rebild', 1081), 846: ('Mariagerfjord', 1081),
    849: ('Jammerbugt', 1081), 851: ('Aalborg', 1081), 860: ('Hjørring', 1081),
}
REGIONS = {1081: 'Region Nordjylland', 1082: 'Region Midtjylland', 1083: 'Region Syddanmark',
           1084: 'Region Hovedstaden', 1085: 'Region Sjælland'}
# placement_group -> its placement_types (codes/placement_codes.csv); uoplyst is both
PLACEMENT_GROUPS = {
    'familiepleje': ['netvaerkspleje', 'plejefamilie'],
    'institution': ['doegninstitution', 'opholdssted'],
    'anden': ['kostskole_efterskole', 'eget_vaerelse'],
    'uoplyst': ['uoplyst'],
}


def load_codes(codes_dir):
    global MUNICIPALITIES, REGIONS, PLACEMENT_GROUPS
    with open(os.path.join(codes_dir, 'municipalities.csv'), encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    MUNICIPALITIES = {int(r['municipality_code']): (r['municipality_name'], int(r['region_code']))
                      for r in rows}
    REGIONS = {int(r['region_code']): r['region_name'] for r in rows}
    groups = {}
    with open(os.path.join(codes_dir, 'placement_codes.csv'), encoding='utf-8') as f:
        for r in csv.DictReader(f):
            lst = groups.setdefault(r['placement_group'], [])
            if r['placement_type'] not in lst:
                lst.append(r['placement_type'])
    PLACEMENT_GROUPS = groups


def places():
    out = [('alle', 'alle'), ('udsat', 'alle'), ('oevrige', 'alle'), ('forebyggende', 'alle'),
           ('anbragt', 'alle')]
    seen = {'alle'}
    for g, types in PLACEMENT_GROUPS.items():
        if g not in seen:
            out.append(('anbragt', g)); seen.add(g)
    for g, types in PLACEMENT_GROUPS.items():
        for t in types:
            if t not in seen:
                out.append(('anbragt', t)); seen.add(t)
    return out


# --------------------------------------------------------------------------------------
# Indicators -> count kinds
# --------------------------------------------------------------------------------------
SCHOOL = {  # id: (numerator kind, denominator kind); population deciding presence: cohort
    'fp9_participation': ('participants', 'cohort'),
    'fp9_min2_dan_mat': ('min2', 'cohort'),
    'fp9_min2_dan_mat_takers': ('min2', 'participants'),
    'fp9_passed': ('passed', 'cohort'),
    'fp9_grade_mean': (None, 'graded'),
    'transition_15m': ('transition', 'cohort'),
    'school_offer_almen': ('almen', 'cohort'),
}
AGE = ('youth_edu_18', 'youth_edu_completed_25', 'no_fp9_by_17')
SUBPOP = {'fp9_min2_dan_mat_takers', 'fp9_grade_mean'}
MEAN = {'fp9_grade_mean'}
# nesting (big ⊇ small) of the 9th-grade cohort
SCHOOL_ANCESTORS = {'graded': ['cohort'], 'participants': ['graded', 'cohort'],
                    'min2': ['participants', 'graded', 'cohort'],
                    'passed': ['participants', 'graded', 'cohort'],
                    'transition': ['cohort'], 'almen': ['cohort']}
SCHOOL_PAIRS = [(big, small) for small, bigs in SCHOOL_ANCESTORS.items() for big in bigs]
GRADE_MIN, GRADE_MAX = -3.0, 12.0
Z95 = 1.959964
# --ci-sumsq: the mean's published interval reveals its sum of squared pupil means
USE_SUMSQ = False
TANGENTS = (-3.0, -1.5, 0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5, 12.0)
REAL_KINDS = ('gradesum', 'gradesq')


class Kinds:
    __slots__ = ('num', 'den', 'pop', 'gs', 'gq', 'family', 'mean', 'subpop')

    def __init__(self, ind):
        if ind in SCHOOL:
            self.num, self.den = SCHOOL[ind]
            self.pop = 'cohort'
            self.family = 'school'
        else:
            self.num, self.den = f'{ind}:num', f'{ind}:pop'
            self.pop = self.den
            self.family = ind
        self.mean = ind in MEAN
        self.subpop = ind in SUBPOP
        self.gs = 'gradesum' if self.mean else None
        self.gq = 'gradesq' if self.mean and USE_SUMSQ else None

    def all(self):
        return [x for x in (self.num, self.den, self.pop, self.gs, self.gq) if x]


def fmt_period(family, y):
    return f'{y}/{y + 1}' if family == 'school' else f'{y}'


def family_pairs(family, kinds_at):
    """Nested pairs (big, small) of one family whose kinds exist."""
    if family == 'school':
        return [(b, s) for b, s in SCHOOL_PAIRS if b in kinds_at and s in kinds_at]
    return [(f'{family}:pop', f'{family}:num')] if f'{family}:num' in kinds_at else []


def family_nesting_rows(family, kinds_at):
    """Direct nesting inequalities (small <= big): pairs with no existing kind between."""
    if family != 'school':
        return family_pairs(family, kinds_at)
    out = []
    for big, small in family_pairs(family, kinds_at):
        between = [m for m in SCHOOL_ANCESTORS[small]
                   if m in kinds_at and big in SCHOOL_ANCESTORS.get(m, [])]
        if not between:
            out.append((big, small))
    return out


# --------------------------------------------------------------------------------------
# Reading published/
# --------------------------------------------------------------------------------------
COLS = ['period', 'year', 'geo_level', 'geo_code', 'geo_name', 'group', 'placement',
        'numerator', 'denominator', 'value', 'years', 'suppressed', 'ci_low', 'ci_high']


def read_published(run_dir, notes):
    base = os.path.join(run_dir, 'published', 'indicators')
    files = sorted(glob.glob(os.path.join(base, 'indicator=*', '**', '*.parquet'), recursive=True))
    if not files:
        raise SystemExit(f'no published indicator files under {base}')
    ks = set()
    rows = []
    for f in files:
        part = [p for p in os.path.relpath(f, base).split(os.sep) if p.startswith('indicator=')]
        ind = part[0].split('=', 1)[1]
        md = pq.read_metadata(f).metadata or {}
        kv = md.get(b'skolegang.disclosure_k')
        if kv is not None:
            ks.add(int(kv.decode()))
        t = pq.read_table(f)
        names = t.column_names
        if 'indicator' in names:
            bad = set(t.column('indicator').to_pylist()) - {ind}
            if bad:
                notes.append(f'{f}: indicator column {sorted(bad)} differs from folder {ind}')
        n = t.num_rows
        col = {}
        for c in COLS:
            if c in names:
                col[c] = t.column(c).to_pylist()
            elif c == 'years':
                col[c] = [1] * n
                notes.append(f'{f}: no `years` column (schema v1?) - taken as 1')
            elif c in ('geo_name', 'ci_low', 'ci_high'):
                col[c] = [None] * n
            else:
                raise SystemExit(f'{f}: missing column {c}')
        for i in range(n):
            rows.append((ind, col['period'][i], int(col['year'][i]), int(col['years'][i]),
                         col['geo_level'][i], int(col['geo_code'][i]), col['geo_name'][i],
                         col['group'][i], col['placement'][i], col['numerator'][i],
                         col['denominator'][i], col['value'][i], bool(col['suppressed'][i]),
                         col['ci_low'][i], col['ci_high'][i]))
    return rows, ks, len(files)


# --------------------------------------------------------------------------------------
# The attacker's model
# --------------------------------------------------------------------------------------
class Model:
    def __init__(self, k):
        self.k = k
        self.key2v = {}
        self.vkey = []
        self.lb = []
        self.ub = []
        self.val = []
        self.is_gs = []
        self.pub = []          # value published by some cell
        self.vabsent = []      # fixed 0 because a cell of the cross product has no row
        self.rr, self.rc, self.ra = [], [], []
        self.rhs, self.req, self.rgs = [], [], []
        self.nrow = 0
        self.inconsistencies = []

    def var(self, key):
        v = self.key2v.get(key)
        if v is None:
            v = len(self.vkey)
            self.key2v[key] = v
            self.vkey.append(key)
            gs = key[0] in REAL_KINDS
            self.lb.append(-INF if key[0] == 'gradesum' else 0.0)
            self.ub.append(INF)
            self.val.append(math.nan)
            self.is_gs.append(gs)
            self.pub.append(False)
            self.vabsent.append(False)
        return v

    def row(self, terms, rhs, eq, gs=False):
        r = self.nrow
        for v, a in terms:
            self.rr.append(r); self.rc.append(v); self.ra.append(a)
        self.rhs.append(rhs); self.req.append(eq); self.rgs.append(gs)
        self.nrow += 1

    def fix(self, v, x, how, what):
        old = self.val[v]
        if not math.isnan(old):
            tol = TOL * (1 + abs(x)) if self.is_gs[v] else TOL
            if abs(old - x) > tol:
                self.inconsistencies.append({'class': 'inconsistent_published', 'detail':
                    f'{fmt_key(self.vkey[v])}: {how} says {x:g} but already {old:g} ({what})'})
            return
        self.val[v] = float(x)


def fmt_key(key):
    kind, period, geo, group, placement = key
    return f'{kind} {period} geo={geo} {group}/{placement}'


def build_model(rows, k, notes):
    m = Model(k)
    GEOS = [0] + sorted(REGIONS) + sorted(MUNICIPALITIES)
    geo_set = set(GEOS)
    PL = places()
    pl_set = set(PL)
    region_kommuner = defaultdict(list)
    for c, (_, r) in sorted(MUNICIPALITIES.items()):
        region_kommuner[r].append(c)

    kinds = {}
    ip_meta = {}     # (ind, period) -> (years, year)
    present = {}     # (ind, period, geo, group, placement) -> row
    geo_names = {0: 'Danmark', **REGIONS, **{c: n for c, (n, _) in MUNICIPALITIES.items()}}
    for r in rows:
        ind, period, year, years, geo_level, geo, geo_name, group, placement = r[:9]
        if ind not in kinds:
            kinds[ind] = Kinds(ind)
            if ind not in SCHOOL and ind not in AGE:
                notes.append(f'unknown indicator {ind}: modelled with its own population')
        meta = ip_meta.setdefault((ind, period), (years, year))
        if meta != (years, year):
            notes.append(f'{ind} {period}: inconsistent years/year {meta} vs {(years, year)}')
        if geo not in geo_set:
            notes.append(f'{ind} {period}: unknown geo_code {geo} (no relations)')
        if (group, placement) not in pl_set:
            notes.append(f'{ind} {period}: unknown group/placement {group}/{placement} (no relations)')
        key = (ind, period, geo, group, placement)
        if key in present:
            m.inconsistencies.append({'class': 'duplicate_row', 'detail': str(key)})
        present[key] = r

    # (kind, period) combinations that exist; kinds by (family, period)
    KP = set()
    fam_kinds = defaultdict(set)
    for (ind, period) in ip_meta:
        kd = kinds[ind]
        for kind in kd.all():
            if kind:
                KP.add((kind, period))
                fam_kinds[(kd.family, period)].add(kind)

    V = m.var
    # variables of the full cross product, and the additive relations
    for (kind, period) in sorted(KP):
        gs = kind in REAL_KINDS
        for geo in GEOS:
            for g, p in PL:
                V((kind, period, geo, g, p))
        for g, p in PL:
            m.row([(V((kind, period, 0, g, p)), 1.0)] +
                  [(V((kind, period, r, g, p)), -1.0) for r in sorted(REGIONS)], 0.0, True, gs)
            for r in sorted(REGIONS):
                m.row([(V((kind, period, r, g, p)), 1.0)] +
                      [(V((kind, period, c, g, p)), -1.0) for c in region_kommuner[r]], 0.0, True, gs)
        for geo in GEOS:
            def v(g, p='alle'):
                return V((kind, period, geo, g, p))
            m.row([(v('alle'), 1.0), (v('udsat'), -1.0), (v('oevrige'), -1.0)], 0.0, True, gs)
            m.row([(v('udsat'), 1.0), (v('anbragt'), -1.0), (v('forebyggende'), -1.0)], 0.0, True, gs)
            m.row([(v('anbragt'), 1.0)] + [(v('anbragt', g), -1.0) for g in PLACEMENT_GROUPS],
                  0.0, True, gs)
            types = [t for ts in PLACEMENT_GROUPS.values() for t in ts]
            m.row([(v('anbragt'), 1.0)] + [(v('anbragt', t), -1.0) for t in types], 0.0, True, gs)
            for g, ts in PLACEMENT_GROUPS.items():
                if ts != [g]:
                    m.row([(v('anbragt', g), 1.0)] + [(v('anbragt', t), -1.0) for t in ts],
                          0.0, True, gs)
    # three-year windows = sum of their yearly periods (same kind, same place)
    n_window_rel = 0
    for (ind, period), (years, year) in sorted(ip_meta.items()):
        if years != 3:
            continue
        kd = kinds[ind]
        yearly = [fmt_period(kd.family, y) for y in (year - 2, year - 1, year)]
        for kind in kd.all():
            if not kind:
                continue
            missing = [p for p in yearly if (kind, p) not in KP]
            if missing:
                notes.append(f'window {ind} {period}: yearly {kind} {missing} not published - '
                             'relation window = sum of years not used')
                continue
            tag = (kind, period)
            if tag in m.__dict__.setdefault('_wdone', set()):
                continue
            m._wdone.add(tag)
            n_window_rel += 1
            for geo in GEOS:
                for g, p in PL:
                    m.row([(V((kind, period, geo, g, p)), 1.0)] +
                          [(V((kind, yp, geo, g, p)), -1.0) for yp in yearly], 0.0, True,
                          kind in REAL_KINDS)
    # nesting, x <= n, grade-sum bounds, per (period, place)
    for (family, period), kset in sorted(fam_kinds.items()):
        nest = family_nesting_rows(family, kset)
        for geo in GEOS:
            for g, p in PL:
                for big, small in nest:
                    m.row([(V((small, period, geo, g, p)), 1.0), (V((big, period, geo, g, p)), -1.0)],
                          0.0, False)
                if 'gradesum' in kset:
                    s, n = V(('gradesum', period, geo, g, p)), V(('graded', period, geo, g, p))
                    m.row([(s, 1.0), (n, -GRADE_MAX)], 0.0, False, True)
                    m.row([(s, -1.0), (n, GRADE_MIN)], 0.0, False, True)
                if 'gradesq' in kset:
                    q = V(('gradesq', period, geo, g, p))
                    # pupil means m in [-3, 12]: m^2 <= 9 m + 36, and m^2 >= 2 a m - a^2
                    m.row([(q, 1.0), (s, -(GRADE_MIN + GRADE_MAX)), (n, GRADE_MIN * GRADE_MAX)],
                          0.0, False, True)
                    for a_ in TANGENTS:
                        m.row([(q, -1.0), (s, 2 * a_), (n, -a_ * a_)], 0.0, False, True)

    # is the published mean (or its interval) rounded?  Then value*n only bounds the grade sum.
    def decimals(vals):
        vals = [v for v in vals if v is not None]
        if len(vals) < 30:      # too few to tell rounding from chance
            return None
        for d in range(0, 7):
            if all(abs(v * 10 ** d - round(v * 10 ** d)) < 1e-7 for v in vals):
                return d
        return None
    mean_rows = [r for r in present.values() if r[0] in MEAN and not r[12]]
    mean_decimals = decimals([r[11] for r in mean_rows])
    ci_decimals = decimals([x for r in mean_rows for x in (r[13], r[14])]) if USE_SUMSQ else None
    if mean_decimals is not None:
        notes.append(f'published means look rounded to {mean_decimals} decimals: grade sums are '
                     'bounded by value*n +- half a unit, not fixed')
    if USE_SUMSQ and ci_decimals is not None:
        notes.append(f'mean intervals look rounded to {ci_decimals} decimals: sums of squares not used')
    # cells: published counts, existence, absence
    cells = []      # list of dicts for present cells
    for key, r in present.items():
        ind, period, geo, group, placement = key
        kd = kinds[ind]
        num, den, value, supp, ci_lo, ci_hi = r[9], r[10], r[11], r[12], r[13], r[14]
        dv = V((kd.den, period, geo, group, placement))
        pv = V((kd.pop, period, geo, group, placement))
        nv = V((kd.num, period, geo, group, placement)) if kd.num else None
        gv = V((kd.gs, period, geo, group, placement)) if kd.gs else None
        qv = V((kd.gq, period, geo, group, placement)) if kd.gq else None
        m.lb[pv] = max(m.lb[pv], 1.0)
        cell = {'indicator': ind, 'period': period, 'year': r[2], 'years': r[3], 'geo_code': geo,
                'geo_name': r[6] or geo_names.get(geo, ''), 'group': group, 'placement': placement,
                'suppressed': supp, 'den_v': dv, 'num_v': nv, 'gs_v': gv, 'pop_v': pv,
                'num': num, 'den': den, 'value': value}
        cells.append(cell)
        if supp:
            if num is not None or den is not None or value is not None:
                m.inconsistencies.append({'class': 'withheld_row_carries_numbers', 'detail': str(key)})
            continue
        if den is None or (kd.num and num is None):
            notes.append(f'published row without counts: {key}')
            continue
        m.fix(dv, den, 'published', f'{ind} denominator'); m.pub[dv] = True
        if nv is not None:
            m.fix(nv, num, 'published', f'{ind} numerator'); m.pub[nv] = True
        if gv is not None and value is not None:
            if mean_decimals is None:
                m.fix(gv, value * den, 'published', f'{ind} value*denominator'); m.pub[gv] = True
            else:   # a rounded mean only bounds the grade sum
                h = 0.5 * 10.0 ** -mean_decimals * den
                m.lb[gv] = max(m.lb[gv], value * den - h); m.ub[gv] = min(m.ub[gv], value * den + h)
        if qv is not None and value is not None and ci_lo is not None and ci_hi is not None \
                and den >= 2 and ci_decimals is None:
            sd = (ci_hi - ci_lo) / (2 * Z95) * math.sqrt(den)
            m.fix(qv, (den - 1) * sd * sd + den * value * value, 'published',
                  f'{ind} interval -> sum of squares'); m.pub[qv] = True
    n_absent = 0
    for (ind, period) in ip_meta:
        kd = kinds[ind]
        for geo in GEOS:
            for g, p in PL:
                if (ind, period, geo, g, p) in present:
                    continue
                n_absent += 1
                for kind in kd.all():
                    if kind:
                        v = V((kind, period, geo, g, p))
                        m.fix(v, 0.0, 'absent row', f'{ind}')
                        m.vabsent[v] = True
    m.cells = cells
    m.kinds = kinds
    m.ip_meta = ip_meta
    m.fam_kinds = fam_kinds
    m.KP = KP
    m.GEOS = GEOS
    m.PL = PL
    m.geo_names = geo_names
    m.n_absent = n_absent
    m.n_window_rel = n_window_rel
    return m


def finalize(m):
    n = len(m.vkey)
    m.lb = np.array(m.lb); m.ub = np.array(m.ub); m.val = np.array(m.val)
    m.is_gs = np.array(m.is_gs, dtype=bool); m.pub = np.array(m.pub, dtype=bool)
    m.vabsent = np.array(m.vabsent, dtype=bool)
    m.A = sp.csr_matrix((np.array(m.ra), (np.array(m.rr, dtype=np.int64), np.array(m.rc, dtype=np.int64))),
                        shape=(m.nrow, n))
    m.A.sum_duplicates()
    m.A.eliminate_zeros()
    m.rhs = np.array(m.rhs); m.req = np.array(m.req, dtype=bool); m.rgs = np.array(m.rgs, dtype=bool)
    m.lb0 = m.lb.copy(); m.ub0 = m.ub.copy()
    del m.rr, m.rc, m.ra


def row_tol(m, xk):
    """Per-row tolerance: exact for counts, relative for grade-sum rows."""
    mag = abs(m.A) @ np.abs(xk)
    return np.where(m.rgs, 1e-7 + REAL_RTOL * mag, TOL)


def propagate(m):
    """Exact recovery by substitution: equalities with one unknown, inequalities with one
    unknown as bounds; repeat.  Variables fixed here are 'derived'."""
    A = m.A
    pattern = A.copy(); pattern.data = np.ones_like(pattern.data)
    known = ~np.isnan(m.val)
    m.derived = np.zeros(len(known), dtype=bool)
    # a fixed value outside its bounds is an inconsistency
    for it in range(200):
        xk = np.where(known, m.val, 0.0)
        res = m.rhs - A @ xk
        U = (~known).astype(float)
        nunk = pattern @ U
        Au = A @ sp.diags(U)
        Au = sp.csr_matrix(Au); Au.eliminate_zeros()
        changed = False
        # equalities with exactly one unknown -> fixed
        rows1 = np.nonzero(m.req & (nunk == 1))[0]
        if len(rows1):
            j = Au.indices[Au.indptr[rows1]]
            a = Au.data[Au.indptr[rows1]]
            x = res[rows1] / a
            order = np.argsort(j, kind='stable')
            j, x, r1 = j[order], x[order], rows1[order]
            first = np.ones(len(j), dtype=bool); first[1:] = j[1:] != j[:-1]
            # conflicting determinations
            for jj, xx, rr in zip(j[~first], x[~first], r1[~first]):
                xf = x[first][np.searchsorted(j[first], jj)]
                if abs(xf - xx) > TOL * (1 + abs(xx)) * (100 if m.is_gs[jj] else 1):
                    m.inconsistencies.append({'class': 'inconsistent_relations', 'detail':
                        f'{fmt_key(m.vkey[jj])}: determined as {xf:g} and {xx:g}'})
            jf, xf = j[first], x[first]
            m.val[jf] = xf
            known[jf] = True
            m.derived[jf] = True
            changed = True
        # inequalities with exactly one unknown -> bounds
        rows1 = np.nonzero(~m.req & (nunk == 1))[0]
        if len(rows1):
            j = Au.indices[Au.indptr[rows1]]
            a = Au.data[Au.indptr[rows1]]
            slack = np.where(m.rgs[rows1], 1e-7 + REAL_RTOL * np.abs(res[rows1]), 0.0)
            b = (res[rows1] + slack) / a
            pos = a > 0
            newub = m.ub.copy(); np.minimum.at(newub, j[pos], b[pos])
            newlb = m.lb.copy(); np.maximum.at(newlb, j[~pos], b[~pos])
            if np.any(newub < m.ub - 1e-12) or np.any(newlb > m.lb + 1e-12):
                m.ub, m.lb = newub, newlb
            fixed = (~known) & (m.ub - m.lb <= 1e-9)
            if fixed.any():
                idx = np.nonzero(fixed)[0]
                m.val[idx] = m.lb[idx]
                known[idx] = True
                m.derived[idx] = True
                changed = True
        if not changed:
            break
    m.known = known
    # consistency of what is known
    xk = np.where(known, m.val, 0.0)
    res = m.rhs - m.A @ xk
    U = (~known).astype(float)
    nunk = pattern @ U
    tol = row_tol(m, xk)
    bad = np.nonzero((nunk == 0) & ((m.req & (np.abs(res) > tol)) | (~m.req & (res < -tol))))[0]
    for r in bad[:50]:
        terms = m.A.indices[m.A.indptr[r]:m.A.indptr[r + 1]]
        m.inconsistencies.append({'class': 'inconsistent_relations', 'detail':
            f'relation over {fmt_key(m.vkey[terms[0]])} ... violated by {res[r]:g}'})
    if len(bad) > 50:
        m.inconsistencies.append({'class': 'inconsistent_relations', 'detail': f'{len(bad) - 50} more'})
    kb = np.nonzero(known & ((m.val < m.lb - TOL) | (m.val > m.ub + TOL)))[0]
    for v in kb[:50]:
        m.inconsistencies.append({'class': 'inconsistent_bounds', 'detail':
            f'{fmt_key(m.vkey[v])} = {m.val[v]:g} outside [{m.lb[v]:g}, {m.ub[v]:g}] '
            '(existence, nesting or x <= n)'})
    m.nunk = nunk
    m.res = res


# --------------------------------------------------------------------------------------
# Quantities (withheld counts and nested differences)
# --------------------------------------------------------------------------------------
def build_quantities(m):
    """q = sum(coef * var); returns list of (kind, tuple of (var, coef), meta)."""
    k = m.k
    withheld_vars = set()
    var_cells = defaultdict(list)
    for ci, c in enumerate(m.cells):
        for role in ('den_v', 'num_v', 'gs_v'):
            v = c[role]
            if v is not None:
                var_cells[v].append((ci, role[:-2]))
                if c['suppressed']:
                    withheld_vars.add(v)
    unknown = set(np.nonzero(~m.known)[0].tolist())
    qvars = sorted(withheld_vars | (unknown - set(np.nonzero(m.vabsent)[0].tolist())))
    quants = []
    qindex = {}
    for v in qvars:
        qindex[('v', v)] = len(quants)
        quants.append(('v', ((v, 1.0),)))
    involved = set(qvars)
    pub_small = []
    all_pairs = []   # (period, geo, g, p, big, small, vb, vs) for the truth check
    for (family, period), kset in sorted(m.fam_kinds.items()):
        pairs = family_pairs(family, kset)
        for geo in m.GEOS:
            for g, p in m.PL:
                for big, small in pairs:
                    vb = m.key2v[(big, period, geo, g, p)]
                    vs = m.key2v[(small, period, geo, g, p)]
                    all_pairs.append((period, geo, g, p, big, small, vb, vs))
                    if vb in involved or vs in involved:
                        qindex[('d', vb, vs)] = len(quants)
                        quants.append(('d', ((vb, 1.0), (vs, -1.0))))
                    elif m.pub[vb] and m.pub[vs]:
                        d = m.val[vb] - m.val[vs]
                        if 1 - TOL <= d <= k - 1 + TOL:
                            pub_small.append((period, geo, g, p, big, small, vb, vs, d))
    m.quants, m.qindex, m.var_cells, m.withheld_vars = quants, qindex, var_cells, withheld_vars
    m.all_pairs, m.pub_small = all_pairs, pub_small


# --------------------------------------------------------------------------------------
# LP solving
# --------------------------------------------------------------------------------------
class Stop(Exception):
    pass


LOCAL_MIN_COLS = 400
AGG_ROUNDS_BIG = int(os.environ.get('ATTACK_AGG_BIG', '12'))


_BANNER_DONE = False


def quiet_highs():
    """highspy prints a banner on stdout when the first Highs object is made; hide it."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, 'w') as dn:
            os.dup2(dn.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue('output_flag', False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_DONE = True
    return h


class LPSolver:
    """One HiGHS model per batch of components; objectives changed in place so every
    solve warm-starts from the previous basis."""

    def __init__(self, A, rl, ru, lb, ub):
        self.n = A.shape[1]
        self.nsolves = 0
        self.prev = np.zeros(0, dtype=np.int32)
        if highspy is not None:
            h = quiet_highs()
            h.setOptionValue('output_flag', False)
            h.setOptionValue('presolve', 'off')
            # primal simplex: after an objective change the basis stays primal feasible,
            # so each re-solve is a short warm start (dual simplex would restart)
            h.setOptionValue('simplex_strategy', 4)
            lp = highspy.HighsLp()
            lp.num_col_ = self.n
            lp.num_row_ = A.shape[0]
            inf = highspy.kHighsInf
            lp.col_cost_ = np.zeros(self.n)
            lp.col_lower_ = np.where(np.isinf(lb), -inf, lb)
            lp.col_upper_ = np.where(np.isinf(ub), inf, ub)
            lp.row_lower_ = np.where(np.isinf(rl), -inf, rl)
            lp.row_upper_ = np.where(np.isinf(ru), inf, ru)
            Ac = sp.csc_matrix(A)
            lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            lp.a_matrix_.start_ = Ac.indptr.astype(np.int32)
            lp.a_matrix_.index_ = Ac.indices.astype(np.int32)
            lp.a_matrix_.value_ = Ac.data.astype(np.float64)
            lp.a_matrix_.num_col_ = self.n
            lp.a_matrix_.num_row_ = A.shape[0]
            h.passModel(lp)
            self.h = h
            self.S = highspy.HighsModelStatus
        else:
            self.A, self.rl, self.ru, self.lb, self.ub = A, rl, ru, lb, ub

    def solve(self, idx, cost):
        """Minimise cost·x[idx]; returns ('opt', x) | ('unbounded', None) | ('infeasible', None)."""
        self.nsolves += 1
        if highspy is not None:
            h = self.h
            if len(self.prev):
                h.changeColsCost(len(self.prev), self.prev, np.zeros(len(self.prev)))
            idx = np.asarray(idx, dtype=np.int32)
            if len(idx):
                h.changeColsCost(len(idx), idx, np.asarray(cost, dtype=np.float64))
            self.prev = idx
            h.run()
            st = h.getModelStatus()
            if st == self.S.kOptimal:
                return 'opt', np.asarray(h.getSolution().col_value)
            if st in (self.S.kUnbounded, self.S.kUnboundedOrInfeasible):
                # feasibility was established first; keep the feasible point if there is one
                sol = h.getSolution()
                return 'unbounded', (np.asarray(sol.col_value) if sol.value_valid else None)
            if st == self.S.kInfeasible:
                return 'infeasible', None
            # numerical trouble: retry from scratch
            h.clearSolver()
            h.run()
            st = h.getModelStatus()
            if st == self.S.kOptimal:
                return 'opt', np.asarray(h.getSolution().col_value)
            if st in (self.S.kUnbounded, self.S.kUnboundedOrInfeasible):
                return 'unbounded', None
            return 'infeasible', None
        from scipy.optimize import linprog
        c = np.zeros(self.n); c[np.asarray(idx, dtype=int)] = cost
        eq = self.rl == self.ru
        Aeq, beq = self.A[eq], self.rl[eq]
        Aub = sp.vstack([self.A[~eq & np.isfinite(self.ru)], -self.A[~eq & np.isfinite(self.rl)]])
        bub = np.concatenate([self.ru[~eq & np.isfinite(self.ru)], -self.rl[~eq & np.isfinite(self.rl)]])
        res = linprog(c, A_ub=Aub if Aub.shape[0] else None, b_ub=bub if Aub.shape[0] else None,
                      A_eq=Aeq if Aeq.shape[0] else None, b_eq=beq if Aeq.shape[0] else None,
                      bounds=list(zip(np.where(np.isinf(self.lb), None, self.lb),
                                      np.where(np.isinf(self.ub), None, self.ub))), method='highs')
        if res.status == 0:
            return 'opt', res.x
        if res.status == 3:
            return 'unbounded', None
        return 'infeasible', None


def fbbt(A, rl, ru, lb, ub, rounds=40):
    """Feasibility-based bound tightening (interval propagation over the rows): valid outer
    bounds of every variable; used to prove an LP unnecessary when a witness attains them."""
    A = sp.csr_matrix(A)
    lb = lb.copy(); ub = ub.copy()
    if A.shape[0] == 0:
        return lb, ub
    a = A.data; j = A.indices
    rowid = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    starts = A.indptr[:-1]
    pos = a > 0
    for _ in range(rounds):
        lj, uj = lb[j], ub[j]
        with np.errstate(invalid='ignore'):
            minc = np.where(pos, a * lj, a * uj)
            maxc = np.where(pos, a * uj, a * lj)
        mininf = np.isinf(minc); maxinf = np.isinf(maxc)
        rmin = np.add.reduceat(np.where(mininf, 0.0, minc), starts)
        rmax = np.add.reduceat(np.where(maxinf, 0.0, maxc), starts)
        nmin = np.add.reduceat(mininf.astype(np.int64), starts)
        nmax = np.add.reduceat(maxinf.astype(np.int64), starts)
        # activity of the other terms of the row
        omin_ok = (nmin[rowid] - mininf) == 0
        omax_ok = (nmax[rowid] - maxinf) == 0
        omin = rmin[rowid] - np.where(mininf, 0.0, minc)
        omax = rmax[rowid] - np.where(maxinf, 0.0, maxc)
        # rl - omax <= a x <= ru - omin
        hi_ax = np.where(omin_ok & np.isfinite(ru[rowid]), ru[rowid] - omin, INF)
        lo_ax = np.where(omax_ok & np.isfinite(rl[rowid]), rl[rowid] - omax, -INF)
        with np.errstate(invalid='ignore', divide='ignore'):
            xu = np.where(pos, hi_ax / a, lo_ax / a)
            xl = np.where(pos, lo_ax / a, hi_ax / a)
        nub = ub.copy(); np.minimum.at(nub, j, xu)
        nlb = lb.copy(); np.maximum.at(nlb, j, xl)
        nub = np.where(nub < ub - 1e-9, nub, ub)
        nlb = np.where(nlb > lb + 1e-9, nlb, lb)
        if np.array_equal(nub, ub) and np.array_equal(nlb, lb):
            break
        # guard against creeping (tiny steps): stop when the improvement is negligible
        with np.errstate(invalid='ignore'):
            step = max(np.max(np.where(np.isfinite(ub), ub - nub, np.where(np.isfinite(nub), 1e9, 0))),
                       np.max(np.where(np.isfinite(lb), nlb - lb, np.where(np.isfinite(nlb), 1e9, 0))))
        lb, ub = nlb, nub
        if step < 1e-6:
            break
    return lb, np.maximum(ub, lb)


def solve_ranges(m, fast, deadline, batch_cols, progress):
    k = m.k
    known = m.known
    nq = len(m.quants)
    lo = np.full(nq, math.nan); hi = np.full(nq, math.nan)
    status = np.array(['pending'] * nq, dtype=object)
    # constant part and unknown part of each quantity
    qconst = np.zeros(nq)
    q_unk = [None] * nq
    for qi, (_, terms) in enumerate(m.quants):
        c = 0.0; u = []
        for v, a in terms:
            if known[v]:
                c += a * m.val[v]
            else:
                u.append((v, a))
        qconst[qi] = c
        q_unk[qi] = u
        if not u:
            lo[qi] = hi[qi] = c
            status[qi] = 'exact'
    # remaining rows (>= 2 unknowns) and components
    unk_idx = np.nonzero(~known)[0]
    col_of = -np.ones(len(known), dtype=np.int64); col_of[unk_idx] = np.arange(len(unk_idx))
    rows_live = np.nonzero(m.nunk >= 2)[0]
    Arem = m.A[rows_live][:, unk_idx].tocsr()
    xk = np.where(known, m.val, 0.0)
    rtol = row_tol(m, xk)[rows_live]
    r_rhs = m.res[rows_live]
    r_eq = m.req[rows_live]
    nu = len(unk_idx)
    stats = {'unknown_vars': int(nu), 'live_rows': int(len(rows_live))}
    if nu == 0:
        stats.update(components=0, lps=0, batches=0)
        return lo, hi, status, qconst, stats
    nr = Arem.shape[0]
    # a quantity over several unknowns joins their components (so every LP sees it whole)
    lr, lc = [], []
    nl = 0
    for qi in range(nq):
        u = q_unk[qi]
        if len(u) > 1:
            for v, _ in u:
                lr.append(nl); lc.append(col_of[v])
            nl += 1
    L = sp.csr_matrix((np.ones(len(lr)), (lr, lc)), shape=(nl, nu))
    G = sp.vstack([Arem, L]).tocsr() if nl else Arem
    ng = G.shape[0]
    B = sp.bmat([[None, G.T], [G, None]], format='csr') if ng else sp.csr_matrix((nu, nu))
    ncomp, lab = connected_components(B, directed=False)
    comp = lab[:nu]
    comp_rows = lab[nu:nu + nr] if nr else np.zeros(0, dtype=int)
    q_comp = -np.ones(nq, dtype=np.int64)
    for qi in range(nq):
        u = q_unk[qi]
        if u:
            q_comp[qi] = comp[col_of[u[0][0]]]
    # components -> batches (small ones packed together)
    csize = np.bincount(comp, minlength=ncomp)
    has_q = np.zeros(ncomp, dtype=bool)
    has_q[q_comp[q_comp >= 0]] = True
    # singleton comps with no rows: range = bounds
    order = np.argsort(csize, kind='stable')
    batches = []
    cur, cur_n = [], 0
    for c in order:
        if not has_q[c]:
            continue
        if cur and cur_n + csize[c] > batch_cols:
            batches.append(cur); cur, cur_n = [], 0
        cur.append(c); cur_n += csize[c]
    if cur:
        batches.append(cur)
    stats.update(components=int(ncomp), largest_component=int(csize.max()), batches=len(batches))
    cols_by_comp = defaultdict(list)
    for i, c in enumerate(comp):
        cols_by_comp[c].append(i)
    rows_by_comp = defaultdict(list)
    for i, c in enumerate(comp_rows):
        rows_by_comp[c].append(i)
    qs_by_comp = defaultdict(list)
    for qi in np.nonzero(q_comp >= 0)[0]:
        qs_by_comp[q_comp[qi]].append(qi)
    lb_u = m.lb[unk_idx]; ub_u = m.ub[unk_idx]
    rgs_live = m.rgs[rows_live]
    tol_l = np.where(rgs_live, rtol, 0.0)
    rl_all = np.where(r_eq, r_rhs - tol_l, -INF)
    ru_all = r_rhs + tol_l
    t = time.time()
    flb, fub = fbbt(Arem, rl_all, ru_all, lb_u, ub_u)
    stats['fbbt_s'] = round(time.time() - t, 2)
    nlp = 0
    infeasible_comps = []
    t_last = time.time()
    done_q = 0
    total_q = int((q_comp >= 0).sum())

    def run_batch(comps):
        nonlocal nlp, done_q
        cols = np.concatenate([np.asarray(cols_by_comp[c]) for c in comps])
        rws = np.concatenate([np.asarray(rows_by_comp[c], dtype=np.int64) for c in comps]) \
            if any(rows_by_comp[c] for c in comps) else np.zeros(0, dtype=np.int64)
        loc = {int(cc): i for i, cc in enumerate(cols)}
        A = Arem[rws][:, cols] if len(rws) else sp.csr_matrix((0, len(cols)))
        rl, ru = rl_all[rws], ru_all[rws]
        lbb, ubb = lb_u[cols], ub_u[cols]
        flbb, fubb = flb[cols], fub[cols]
        qids = np.concatenate([np.asarray(qs_by_comp[c], dtype=np.int64) for c in comps])
        # order: counts before differences
        qids = qids[np.argsort([0 if m.quants[q][0] == 'v' else 1 for q in qids], kind='stable')]
        qr, qc, qa = [], [], []
        for i, qi in enumerate(qids):
            for v, a in q_unk[qi]:
                qr.append(i); qc.append(loc[int(col_of[v])]); qa.append(a)
        Q = sp.csr_matrix((qa, (qr, qc)), shape=(len(qids), len(cols)))
        # trivial bounds of each quantity from variable bounds (diff of nested pair >= 0)
        tl = np.empty(len(qids)); tu = np.empty(len(qids))
        for i, qi in enumerate(qids):
            kind, terms = m.quants[qi]
            lo_s = qconst[qi]; hi_s = qconst[qi]
            for v, a in q_unk[qi]:
                j = loc[int(col_of[v])]
                lo_s += a * (flbb[j] if a > 0 else fubb[j])
                hi_s += a * (fubb[j] if a > 0 else flbb[j])
            if kind == 'd':
                lo_s = max(lo_s, 0.0)
            tl[i], tu[i] = lo_s, hi_s
        wmin = np.full(len(qids), INF); wmax = np.full(len(qids), -INF)
        solver = LPSolver(A, rl, ru, lbb, ubb)

        base = []   # a few full solutions; their mean is a feasible, central point

        def witness(x):
            vals = Q @ x + qconst[qids]
            np.minimum(wmin, vals, out=wmin); np.maximum(wmax, vals, out=wmax)
            if len(base) < 6:
                base.append(x)
            return vals

        st, x = solver.solve([], [])
        nlp += 1
        if st != 'opt':
            return False
        witness(x)
        nb = len(qids)
        # spread: minimise the sum of all unknown counts (attains most lower bounds)
        cnt = np.nonzero(~m.is_gs[unk_idx[cols]] & np.isfinite(lbb))[0]
        if len(cnt):
            st, x = solver.solve(cnt, np.ones(len(cnt))); nlp += 1
            if x is not None:
                witness(x)
        t_ph0 = time.time(); n_ph0 = nlp
        # fast mode: random objectives give witnesses that show most ranges >= k wide
        big = len(cols) >= LOCAL_MIN_COLS
        if fast and len(cnt) > 20 and not big:
            rs = np.random.default_rng(20261202 + len(cols))
            nwide = int((wmax - wmin >= k - TOL).sum())
            for _ in range(40):
                if time.time() > deadline:
                    raise Stop()
                c = rs.choice([-1.0, 1.0], len(cnt)) * rs.uniform(0.5, 1.5, len(cnt))
                st, x = solver.solve(cnt, c); nlp += 1
                if x is None:
                    continue
                witness(x)
                nw = int((wmax - wmin >= k - TOL).sum())
                if nw - nwide < max(1, 0.005 * nb):
                    break
                nwide = nw
        lo_b = np.full(nb, math.nan); hi_b = np.full(nb, math.nan)
        rows_q = [(Q.indices[Q.indptr[i]:Q.indptr[i + 1]], Q.data[Q.indptr[i]:Q.indptr[i + 1]])
                  for i in range(nb)]

        def extreme(i, sign):
            nonlocal nlp
            ix, co = rows_q[i]
            st, x = solver.solve(ix, sign * co); nlp += 1
            if st == 'opt':
                return witness(x)[i]
            if x is not None:
                witness(x)
            if st == 'unbounded':
                return -sign * INF
            return math.nan

        t_ph1 = time.time(); n_ph1 = nlp
        # aggregated objectives: push all unresolved quantities at once (weighted sum);
        # a quantity is resolved when a witness attains its FBBT bound (or, in fast mode,
        # when the witnesses already span k)
        QT = Q.T.tocsr()
        rs2 = np.random.default_rng(7 + nb)

        def aggregate(rounds, only=None):
            nonlocal nlp
            for sign in (-1.0, 1.0):
                bound = tu if sign < 0 else tl
                for _ in range(rounds):
                    if time.time() > deadline:
                        raise Stop()
                    attained = (wmax >= tu - 1e-7) if sign < 0 else (wmin <= tl + 1e-7)
                    open_ = ~attained & np.isfinite(bound)
                    if only is not None:
                        open_ &= only
                    if fast:
                        open_ &= (wmax - wmin < k - TOL)
                    n_open = int(open_.sum())
                    if n_open < 3:
                        break
                    w = np.where(open_, rs2.uniform(0.5, 1.5, nb), 0.0)
                    c = QT @ w
                    ix = np.nonzero(c)[0]
                    st, x = solver.solve(ix, sign * c[ix]); nlp += 1
                    if x is None:
                        break
                    witness(x)
                    attained = (wmax >= tu - 1e-7) if sign < 0 else (wmin <= tl + 1e-7)
                    still = int((~attained & open_ & ((wmax - wmin < k - TOL) if fast else True)).sum())
                    if n_open - still < max(2, 0.02 * n_open):
                        break
        aggregate(AGG_ROUNDS_BIG if big else 12)
        if os.environ.get('ATTACK_DEBUG'):
            print(f'    random {n_ph1 - n_ph0} LPs {t_ph1 - t_ph0:.1f}s, aggregate {nlp - n_ph1} LPs '
                  f'{time.time() - t_ph1:.1f}s', file=sys.stderr)
            print(f'    after aggregate: max attained {int((wmax >= tu - 1e-7).sum())}, min attained '
                  f'{int((wmin <= tl + 1e-7).sum())}, wide {int((wmax - wmin >= k - TOL).sum())} of {nb}; '
                  f'FBBT-finite ub {int(np.isfinite(tu).sum())}', file=sys.stderr)
        # local relaxations (large models only): the rows of the quantity's neighbourhood
        # (every variable sharing a row with it, and all their rows), every other variable
        # only bounded by FBBT.  A relaxation: its range contains the true range, so it
        # tightens tl/tu (an LP is skipped when a witness attains them) and, in fast mode,
        # proves a range narrower than k without the large LP.
        t_ph2 = time.time(); n_loc = 0
        outer = np.zeros(nb, dtype=bool)
        if big:
            Ac = A.tocsc()
            x0 = np.mean(base, axis=0)
            # x0 may sit a hair outside a bound after averaging: clip into the FBBT box
            x0 = np.minimum(np.maximum(x0, flbb), fubb)
            Qc = Q.tocsc()

            def witness_local(xf, Vv):
                # only quantities touching the changed columns can move
                qs_ = np.unique(Qc.indices[np.concatenate([np.arange(Qc.indptr[v], Qc.indptr[v + 1])
                                                           for v in Vv])]) if len(Vv) else []
                if len(qs_):
                    vals = Q[qs_] @ xf + qconst[qids[qs_]]
                    wmin[qs_] = np.minimum(wmin[qs_], vals); wmax[qs_] = np.maximum(wmax[qs_], vals)

            def rows_of(vs):
                return np.unique(np.concatenate([Ac.indices[Ac.indptr[v]:Ac.indptr[v + 1]] for v in vs]))

            def vars_of(rs_):
                return np.unique(np.concatenate([A.indices[A.indptr[r]:A.indptr[r + 1]] for r in rs_]))
            def settled(i):
                if wmin[i] <= tl[i] + 1e-7 and wmax[i] >= tu[i] - 1e-7:
                    return True
                if not fast:
                    return False
                return (wmax[i] - wmin[i] >= k - TOL or
                        (outer[i] and ((tu[i] - tl[i] < k - TOL and wmin[i] < k - TOL)
                                       or tl[i] >= k - TOL)))

            for depth in (2, 3):    # neighbourhood radius (in rows) of the local problems
                for i in range(nb):
                    if time.time() > deadline:
                        raise Stop()
                    if settled(i):
                        continue
                    ix, co = rows_q[i]
                    Cv = ix
                    for _ in range(depth - 1):
                        r1 = rows_of(Cv)
                        if not len(r1):
                            break
                        Cv = vars_of(r1)
                    R = rows_of(Cv)
                    if not len(R):
                        continue
                    Vv = vars_of(R)
                    if depth > 2 and len(Vv) > 0.15 * len(cols):
                        continue    # not much smaller than the model itself
                    pos_ = np.searchsorted(Vv, ix)
                    subA = A[R][:, Vv]
                    n_loc += 1
                    # inner: the neighbourhood moves, everything else stays at the central
                    # point x0 -> every solution is a feasible point of the whole system
                    inC = np.isin(Vv, Cv)
                    li = np.where(inC, flbb[Vv], x0[Vv]); ui = np.where(inC, fubb[Vv], x0[Vv])
                    sub = LPSolver(subA, rl[R], ru[R], li, ui)
                    for sign in (1.0, -1.0):
                        st, x = sub.solve(pos_, sign * co)
                        if st == 'opt':
                            xf = x0.copy(); xf[Vv] = x
                            witness_local(xf, Vv)
                    if fast and wmax[i] - wmin[i] >= k - TOL:
                        continue
                    # outer: the neighbourhood's rows only, everything else FBBT-bounded
                    sub = LPSolver(subA, rl[R], ru[R], flbb[Vv], fubb[Vv])
                    for sign in (1.0, -1.0):
                        st, x = sub.solve(pos_, sign * co)
                        if st == 'opt':
                            val = float(co @ x[pos_]) + qconst[qids[i]]
                            if sign > 0:
                                tl[i] = max(tl[i], val)
                            else:
                                tu[i] = min(tu[i], val)
                    outer[i] = True
        if big:
            # the local bounds are tighter than FBBT: push the unresolved ones together again
            n_agg = nlp
            aggregate(12, only=outer)
            n_agg = nlp - n_agg
        else:
            n_agg = 0
        if os.environ.get('ATTACK_DEBUG'):
            print(f'    local relaxations {n_loc} in {time.time() - t_ph2:.1f}s '
                  f'(incl. {n_agg} aggregated LPs after)', file=sys.stderr)
        # pass 1: minima; pass 2: maxima (one objective sense per pass keeps successive
        # bases close).  Fast mode skips a maximum when the minimum is already >= k (such a
        # count cannot be small) or the witnesses already span k, and skips both when the
        # relaxation proves the range narrower than k and a witness lies below k.
        proven = np.zeros(nb, dtype=bool)
        for i in range(nb):
            if time.time() > deadline:
                raise Stop()
            if fast and wmax[i] - wmin[i] >= k - TOL:
                continue
            if fast and outer[i] and tu[i] - tl[i] < k - TOL and wmin[i] < k - TOL:
                proven[i] = True
                continue
            if fast and outer[i] and tl[i] >= k - TOL:
                lo_b[i] = tl[i]
                continue
            lo_b[i] = tl[i] if wmin[i] <= tl[i] + 1e-7 else extreme(i, 1.0)
        for i, qi in enumerate(qids):
            if time.time() > deadline:
                raise Stop()
            if fast and wmax[i] - wmin[i] >= k - TOL:
                lo[qi] = wmin[i] if math.isnan(lo_b[i]) else lo_b[i]
                hi[qi], status[qi] = wmax[i], 'wide'
                done_q += 1
                continue
            if proven[i]:
                exact_ = wmin[i] <= tl[i] + 1e-7 and wmax[i] >= tu[i] - 1e-7
                lo[qi], hi[qi], status[qi] = tl[i], tu[i], ('exact' if exact_ else 'outer')
                done_q += 1
                continue
            if fast and lo_b[i] >= k - TOL:
                lo[qi], hi[qi], status[qi] = lo_b[i], wmax[i], 'large'
                done_q += 1
                continue
            hi_b[i] = tu[i] if wmax[i] >= tu[i] - 1e-7 else extreme(i, -1.0)
            lo[qi], hi[qi], status[qi] = lo_b[i], hi_b[i], 'exact'
            done_q += 1
        if os.environ.get('ATTACK_DEBUG') == '2':
            sel = np.nonzero(~np.isnan(hi_b) & outer)[0][:25]
            for i in sel:
                print(f'      q {quant_label(m, qids[i])}: outer [{tl[i]:.3f},{tu[i]:.3f}] '
                      f'exact [{lo_b[i]:.3f},{hi_b[i]:.3f}]', file=sys.stderr)
        if os.environ.get('ATTACK_DEBUG'):
            ex = ~np.isnan(hi_b)
            print(f'    exact maxima {int(ex.sum())}, equal to FBBT {int((np.abs(hi_b - tu) < 1e-6)[ex].sum())}; '
                  f'narrow {int(((hi_b - lo_b) < k - TOL).sum())}', file=sys.stderr)
        return True

    stopped = False
    debug = bool(os.environ.get('ATTACK_DEBUG'))
    try:
        for bi, comps in enumerate(batches):
            tb, lb0 = time.time(), nlp
            ok = run_batch(comps)
            if debug:
                print(f'  batch {bi}: {len(comps)} comps, {sum(csize[c] for c in comps)} cols, '
                      f'{sum(len(qs_by_comp[c]) for c in comps)} q, {nlp - lb0} LPs, '
                      f'{time.time() - tb:.2f} s', file=sys.stderr, flush=True)
            if not ok:
                if len(comps) > 1:
                    for c in comps:
                        if not run_batch([c]):
                            infeasible_comps.append(c)
                else:
                    infeasible_comps.append(comps[0])
            if progress and time.time() - t_last > 10:
                t_last = time.time()
                print(f'  ... batch {bi + 1}/{len(batches)}, {done_q}/{total_q} quantities, '
                      f'{nlp} LPs', file=sys.stderr, flush=True)
    except Stop:
        stopped = True
    for c in infeasible_comps:
        for qi in qs_by_comp[c]:
            status[qi] = 'infeasible'
        vs = [m.vkey[unk_idx[i]] for i in cols_by_comp[c][:3]]
        m.inconsistencies.append({'class': 'infeasible_component', 'detail':
            f'no real solution for the component of {", ".join(fmt_key(v) for v in vs)}'})
    stats.update(lps=int(nlp), stopped=stopped, quantities_done=int(done_q),
                 quantities_total=int(total_q))
    return lo, hi, status, qconst, stats


# --------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------
def describe_var(m, v):
    kind, period, geo, g, p = m.vkey[v]
    return {'count': kind, 'period': period, 'geo_code': geo, 'geo_name': m.geo_names.get(geo, ''),
            'group': g, 'placement': p}


def indicators_of(m, v):
    return sorted({m.cells[ci]['indicator'] + ('(withheld)' if m.cells[ci]['suppressed'] else '')
                   for ci, _ in m.var_cells.get(v, [])})


def rng(a, b):
    def f(x):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return None
        if math.isinf(x):
            return 'inf' if x > 0 else '-inf'
        return round(float(x), 6) + 0.0
    return [f(a), f(b)]


def exposures(m, lo, hi, status):
    k = m.k
    out = []
    for qi, (kind, terms) in enumerate(m.quants):
        if status[qi] not in ('exact', 'outer'):
            continue
        if kind == 'v' and m.is_gs[terms[0][0]]:
            continue  # a grade sum is not a count of persons
        l, h = lo[qi], hi[qi]
        if math.isnan(l) or math.isnan(h):
            continue
        if h - l < k - TOL and l < k - TOL:
            if kind == 'v':
                v = terms[0][0]
                d = describe_var(m, v)
                d['indicators'] = indicators_of(m, v)
                d['published_elsewhere'] = bool(m.pub[v])
            else:
                vb, vs = terms[0][0], terms[1][0]
                d = describe_var(m, vb)
                d['count'] = f'{m.vkey[vb][0]} - {m.vkey[vs][0]}'
                d['indicators'] = sorted(set(indicators_of(m, vb)) | set(indicators_of(m, vs)))
            sub = 'known_zero' if h < 1 - TOL else ('pinned' if h - l < TOL else 'narrow')
            cls = ('count' if kind == 'v' else 'difference') + ':' + sub
            d.update({'class': cls, 'range': rng(l, h), 'quantity': qi})
            if status[qi] == 'outer':
                d['range_is'] = 'outer bound (proven narrower than k; exact with --exact)'
            out.append(d)
    for (period, geo, g, p, big, small, vb, vs, dd) in m.pub_small:
        d = describe_var(m, vb)
        d['count'] = f'{big} - {small}'
        d.update({'class': 'published_small_difference', 'range': rng(dd, dd),
                  'indicators': sorted(set(indicators_of(m, vb)) | set(indicators_of(m, vs)))})
        out.append(d)
    # published cells that break the threshold rule (visible from published data alone)
    for c in m.cells:
        if c['suppressed'] or c['den'] is None:
            continue
        reasons = primary_reasons(c['indicator'], c['num'], c['den'], k)
        if reasons:
            out.append({'class': 'published_primary', 'indicator': c['indicator'],
                        'period': c['period'], 'geo_code': c['geo_code'], 'geo_name': c['geo_name'],
                        'group': c['group'], 'placement': c['placement'],
                        'count': ','.join(f'{r}:{w}' for r, w in reasons),
                        'range': [c['num'], c['den']]})
    return out


def primary_reasons(ind, num, den, k):
    """Why a cell is primary (methodology 'What must not be learned'): list of (count, rule)."""
    r = []
    mean = ind in MEAN
    if ind in SUBPOP and den < k:
        r.append(('den', 'subpopulation<k'))
    if mean:
        if den < k and not r:
            r.append(('den', 'mean<k'))
        return r
    if 1 <= den <= k - 1 and not any(x[0] == 'den' for x in r):
        r.append(('den', 'small'))
    if num is None:
        return r
    if 1 <= num <= k - 1:
        r.append(('num', 'small'))
    if 1 <= den - num <= k - 1:
        r.append(('comp', 'small'))
    if 1 <= den <= 2 * k - 1 and (num == 0 or num == den):
        if not any(x[0] == 'num' for x in r):
            r.append(('num', 'group'))
    return r


# --------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------
RANK_MEASURES = [('participation', 'fp9_participation'), ('grade_mean', 'fp9_grade_mean'),
                 ('transition', 'transition_15m')]


def check_rankings(run_dir, m, notes):
    files = sorted(glob.glob(os.path.join(run_dir, 'published', 'rankings', '**', '*.parquet'),
                             recursive=True))
    findings = []
    if not files:
        notes.append('no published/rankings files')
        return findings, 0
    rows = []
    for f in files:
        rows.extend(pq.read_table(f).to_pylist())
    yearly = {ind: defaultdict(dict) for _, ind in RANK_MEASURES}
    for c in m.cells:
        if c['years'] == 1 and c['group'] == 'alle' and c['placement'] == 'alle' \
                and c['geo_code'] in MUNICIPALITIES and c['indicator'] in yearly:
            yearly[c['indicator']][c['year']][c['geo_code']] = c

    def pooled(ind, muni, Y):
        cs = [yearly[ind].get(y, {}).get(muni) for y in (Y - 2, Y - 1, Y)]
        if any(c is None or c['suppressed'] for c in cs):
            return None
        den = sum(c['den'] for c in cs)
        if den == 0:
            return None
        if ind in MEAN:
            return sum(c['value'] * c['den'] for c in cs) / den
        return Fraction(sum(c['num'] for c in cs), den)

    def better(a, b):  # a strictly better (higher) than b
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return a > b
        return float(a) > float(b) + 1e-9 * max(1.0, abs(float(a)), abs(float(b)))

    years_all = set()
    for _, ind in RANK_MEASURES:
        years_all |= set(yearly[ind])
    by_window = defaultdict(dict)
    for r in rows:
        by_window[r['year']][r['municipality_code']] = r
    expected_windows = set()
    computed = {}
    for Y in sorted(years_all | set(by_window)):
        vals = {}
        for name, ind in RANK_MEASURES:
            vals[name] = {mu: pooled(ind, mu, Y) for mu in MUNICIPALITIES}
            vals[name] = {mu: v for mu, v in vals[name].items() if v is not None}
        ranks = {}
        for name, _ in RANK_MEASURES:
            vv = vals[name]
            items = list(vv.items())
            ranks[name] = {mu: 1 + sum(1 for _, o in items if better(o, v)) for mu, v in items}
        all3 = [mu for mu in MUNICIPALITIES if all(mu in ranks[n] for n, _ in RANK_MEASURES)]
        if all3:
            expected_windows.add(Y)
        computed[Y] = (vals, ranks)
    n_checked = 0
    for Y in sorted(expected_windows | set(by_window)):
        if Y not in by_window:
            findings.append({'class': 'ranking_window_missing', 'year': Y,
                             'detail': 'some municipality is ranked on all three measures'})
            continue
        if Y not in expected_windows:
            findings.append({'class': 'ranking_window_unexpected', 'year': Y,
                             'detail': 'no municipality has all three measures from published cells'})
        vals, ranks = computed[Y]
        exp_window = f'{Y - 2}/{Y - 1}{EN_DASH}{Y}/{Y + 1}'
        for mu, r in sorted(by_window[Y].items()):
            n_checked += 1
            where = {'year': Y, 'municipality_code': mu}
            if r.get('window') != exp_window:
                findings.append({'class': 'ranking_window_label', **where,
                                 'detail': f"window {r.get('window')!r} != {exp_window!r}"})
            for name, _ in RANK_MEASURES:
                got = r.get(f'rank_{name}')
                want = ranks[name].get(mu)
                if got != want:
                    findings.append({'class': 'ranking_not_recomputable', **where, 'measure': name,
                                     'detail': f'published rank {got}, from published cells {want}'})
                gotn = r.get(f'ranked_{name}')
                if gotn != len(ranks[name]):
                    findings.append({'class': 'ranking_N', **where, 'measure': name,
                                     'detail': f'published N {gotn}, from published cells {len(ranks[name])}'})
            three = [ranks[n].get(mu) for n, _ in RANK_MEASURES]
            if all(x is not None for x in three):
                want_mean = sum(three) / 3
                want_b15 = all(sum(1 for o in vals[n].values() if better(vals[n][mu], o)) < 15
                               for n, _ in RANK_MEASURES)
            else:
                want_mean, want_b15 = None, None
            gm = r.get('mean_rank')
            if (gm is None) != (want_mean is None) or (gm is not None and abs(gm - want_mean) > 1e-9):
                findings.append({'class': 'ranking_not_recomputable', **where, 'measure': 'mean_rank',
                                 'detail': f'published {gm}, from published cells {want_mean}'})
            if r.get('bottom15_all') != want_b15:
                findings.append({'class': 'ranking_not_recomputable', **where, 'measure': 'bottom15_all',
                                 'detail': f"published {r.get('bottom15_all')}, from published cells {want_b15}"})
        missing = set(MUNICIPALITIES) - set(by_window[Y])
        if missing:
            notes.append(f'ranking window {Y}: no row for {len(missing)} municipalities')
    return findings, n_checked


# --------------------------------------------------------------------------------------
# Truth (--truth): disclosure/cells.parquet
# --------------------------------------------------------------------------------------
def pick(names, cands):
    for c in cands:
        if c in names:
            return c
    return None


def read_truth(run_dir, notes):
    path = os.path.join(run_dir, 'disclosure', 'cells.parquet')
    if not os.path.exists(path):
        cand = glob.glob(os.path.join(run_dir, 'disclosure', '**', '*.parquet'), recursive=True)
        if not cand:
            raise SystemExit(f'--truth: {path} not found')
        path = cand[0]
    import pyarrow.dataset as ds
    t = ds.dataset(path, format='parquet', partitioning='hive').to_table()
    names = t.column_names
    cm = {
        'indicator': pick(names, ['indicator', 'indicator_id']),
        'period': pick(names, ['period']),
        'geo_code': pick(names, ['geo_code']),
        'group': pick(names, ['group', 'gruppe']),
        'placement': pick(names, ['placement']),
        'num': pick(names, ['true_numerator', 'numerator_true', 'numerator', 'num', 'x']),
        'den': pick(names, ['true_denominator', 'denominator_true', 'denominator', 'den', 'n']),
        'gs': pick(names, ['grade_sum', 'true_grade_sum', 'gradesum', 'sum_grades', 'sum']),
        'value': pick(names, ['true_value', 'value', 'mean']),
        'suppressed': pick(names, ['suppressed', 'withheld']),
        'reason': pick(names, ['reason', 'suppression', 'suppression_reason', 'withheld_reason',
                               'why', 'status']),
    }
    missing = [c for c in ('indicator', 'period', 'geo_code', 'group', 'placement', 'den')
               if cm[c] is None]
    if missing:
        raise SystemExit(f'--truth: cannot find columns {missing} in {path}; columns: {names}')
    notes.append(f'truth: {path}: {t.num_rows} rows; columns {names}; using {cm}')
    cols = {k: (t.column(v).to_pylist() if v else [None] * t.num_rows) for k, v in cm.items()}
    out = []
    for i in range(t.num_rows):
        out.append({k: cols[k][i] for k in cols})
    return out


def truth_check(m, truth, lo, hi, status, qconst):
    k = m.k
    findings = []
    nvar = len(m.vkey)
    tv = np.full(nvar, math.nan)
    tcell = {}
    conflicts = 0
    for r in truth:
        ind = r['indicator']
        if ind not in m.kinds:
            continue
        kd = m.kinds[ind]
        key = (r['period'], int(r['geo_code']), r['group'], r['placement'])
        tcell[(ind,) + key] = r
        den = r['den']
        num = r['num'] if kd.num else None
        gs = r['gs']
        if kd.mean and gs is None and r['value'] is not None and den is not None:
            gs = r['value'] * den
        for kind, x in ((kd.den, den), (kd.num, num), (kd.gs, gs)):
            if not kind or x is None:
                continue
            v = m.key2v.get((kind,) + key)
            if v is None:
                continue
            if not math.isnan(tv[v]) and abs(tv[v] - x) > TOL * (1 + abs(x)):
                conflicts += 1
                if conflicts <= 20:
                    findings.append({'class': 'truth_inconsistent', 'detail':
                        f'{fmt_key(m.vkey[v])}: {tv[v]:g} vs {x:g} ({ind})'})
            tv[v] = x
    # absent cells are 0 in truth too
    tv = np.where(np.isnan(tv) & m.vabsent, 0.0, tv)
    # presence variables (cohort of sub-population cells) may only be known via other indicators
    have = ~np.isnan(tv)
    # 1. model sanity: the truth satisfies every constraint of the attacker's system
    x = np.where(have, tv, 0.0)
    pattern = m.A.copy(); pattern.data[:] = 1
    rows_full = (pattern @ (~have).astype(float)) == 0
    res = m.A @ x - m.rhs
    tol = row_tol(m, x)
    bad = np.nonzero(rows_full & ((m.req & (np.abs(res) > tol)) | (~m.req & (res > tol))))[0]
    for r in bad[:20]:
        terms = m.A.indices[m.A.indptr[r]:m.A.indptr[r + 1]]
        findings.append({'class': 'model_sanity', 'detail':
            f'truth violates a relation over {", ".join(fmt_key(m.vkey[t]) for t in terms[:4])} '
            f'by {res[r]:g}'})
    bb = np.nonzero(have & ((tv < m.lb0 - TOL) | (tv > m.ub0 + TOL)))[0]
    for v in bb[:20]:
        findings.append({'class': 'model_sanity', 'detail':
            f'truth {fmt_key(m.vkey[v])} = {tv[v]:g} outside [{m.lb0[v]:g}, {m.ub0[v]:g}]'})
    pubmis = np.nonzero(have & m.pub & (np.abs(tv - m.val) > TOL * (1 + np.abs(tv))))[0]
    for v in pubmis[:20]:
        findings.append({'class': 'published_differs_from_truth', 'detail':
            f'{fmt_key(m.vkey[v])}: published {m.val[v]:g}, truth {tv[v]:g}'})
    # 2. truth inside every exact range
    n_out = 0
    for qi, (kind, terms) in enumerate(m.quants):
        if status[qi] not in ('exact', 'large', 'outer') or any(math.isnan(tv[v]) for v, _ in terms):
            continue
        t = sum(a * tv[v] for v, a in terms)
        tl = TOL * (1 + abs(t)) * (1e3 if kind == 'v' and m.is_gs[terms[0][0]] else 1)
        top = hi[qi] if status[qi] in ('exact', 'outer') else INF
        if not (lo[qi] - tl <= t <= top + tl):
            n_out += 1
            if n_out <= 20:
                findings.append({'class': 'model_sanity', 'detail':
                    f'truth {t:g} of {quant_label(m, qi)} outside computed range {rng(lo[qi], hi[qi])}'})
    # 3. the requirement
    nprim = 0; nreq = 0
    primaries = []
    for c in m.cells:
        r = tcell.get((c['indicator'], c['period'], c['geo_code'], c['group'], c['placement']))
        if r is None:
            findings.append({'class': 'truth_missing_cell', 'detail': f"{c['indicator']} {c['period']} "
                             f"{c['geo_code']} {c['group']}/{c['placement']}"})
            continue
        num = r['num'] if c['num_v'] is not None else None
        den = r['den']
        reasons = primary_reasons(c['indicator'], num, den, k) if den is not None else []
        where = {'indicator': c['indicator'], 'period': c['period'], 'geo_code': c['geo_code'],
                 'geo_name': c['geo_name'], 'group': c['group'], 'placement': c['placement']}
        if not c['suppressed']:
            if reasons:
                findings.append({'class': 'published_but_primary', **where,
                                 'detail': ','.join(f'{a}:{b}' for a, b in reasons)})
            continue
        if reasons:
            nprim += 1
            primaries.append((c, r, reasons))
        rs = r.get('reason')
        if rs is not None:
            rs_s = str(rs).lower()
            if reasons and 'second' in rs_s:
                findings.append({'class': 'reason_mismatch', **where,
                                 'detail': f'recorded {rs!r}, but primary by {reasons}'})
            if not reasons and 'prim' in rs_s:
                findings.append({'class': 'reason_mismatch', **where,
                                 'detail': f'recorded {rs!r}, but no primary rule applies'})
        for role, rule in reasons:
            if role == 'den':
                q = m.qindex.get(('v', c['den_v']))
            elif role == 'num':
                q = m.qindex.get(('v', c['num_v']))
            else:
                q = m.qindex.get(('d', c['den_v'], c['num_v']))
            nreq += 1
            tval = {'den': den, 'num': num, 'comp': (den - num) if num is not None else None}[role]
            if q is None:
                findings.append({'class': 'requirement_unchecked', **where, 'count': role,
                                 'detail': 'quantity not modelled'})
                continue
            ok, msg = width_ok(lo[q], hi[q], status[q], k)
            if not ok:
                findings.append({'class': 'requirement_violation:primary', **where,
                                 'count': f'{role} ({rule}) = {m.vkey[m.quants[q][1][0][0]][0]}'
                                 + ('' if role != 'comp' else f' - {m.vkey[m.quants[q][1][1][0]][0]}'),
                                 'true': tval, 'range': rng(lo[q], hi[q]), 'detail': msg})
    # sensitive nested pairs (true difference in 1..k-1)
    nsens = 0
    for (period, geo, g, p, big, small, vb, vs) in m.all_pairs:
        if math.isnan(tv[vb]) or math.isnan(tv[vs]):
            continue
        d = float(tv[vb] - tv[vs])
        if not (1 - TOL <= d <= k - 1 + TOL):
            continue
        nsens += 1
        q = m.qindex.get(('d', vb, vs))
        if q is None:
            # both counts published: the difference is published
            l = h = m.val[vb] - m.val[vs] if m.known[vb] and m.known[vs] else math.nan
            st = 'exact'
        else:
            l, h, st = lo[q], hi[q], status[q]
        ok, msg = width_ok(l, h, st, k)
        if not ok:
            findings.append({'class': 'requirement_violation:nested', 'period': period,
                             'geo_code': geo, 'geo_name': m.geo_names.get(geo, ''), 'group': g,
                             'placement': p, 'count': f'{big} - {small}', 'true': d,
                             'range': rng(l, h), 'detail': msg})
    m.truth_values = tv
    stats = {'truth_rows': len(truth), 'withheld_primary_cells': nprim,
             'primary_counts_checked': nreq, 'sensitive_nested_pairs': nsens,
             'truth_outside_range': n_out, 'rows_checked': int(rows_full.sum())}
    return findings, stats


def width_ok(l, h, st, k):
    if st == 'wide':
        return True, 'witness range at least k wide'
    if st == 'large':
        return True, 'lower end >= k'
    if st in ('pending',):
        return True, 'not computed (time limit)'
    if st == 'infeasible' or math.isnan(l) or math.isnan(h):
        return False, 'no range (inconsistent system)'
    if h - l >= k - TOL:
        return True, ''
    return False, f'range {h - l:g} wide < k={k}'


def quant_label(m, qi):
    kind, terms = m.quants[qi]
    if kind == 'v':
        return fmt_key(m.vkey[terms[0][0]])
    return f'{fmt_key(m.vkey[terms[0][0]])} - {m.vkey[terms[1][0]][0]}'


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('run_dir')
    ap.add_argument('--k', type=int, help='threshold (default: Parquet footer skolegang.disclosure_k)')
    ap.add_argument('--truth', action='store_true', help='also check against disclosure/cells.parquet')
    ap.add_argument('--json', help='write all findings and ranges to this file')
    ap.add_argument('--limit-seconds', type=float, default=None)
    ap.add_argument('--exact', action='store_true',
                    help='compute every range exactly (default: stop once a witness shows >= k wide)')
    ap.add_argument('--strict', action='store_true',
                    help='with --truth, also exit 1 on possible (published-only) exposures')
    ap.add_argument('--ci-sumsq', action='store_true',
                    help='extension: also use the sum of squares that a published mean interval '
                         'reveals (not in the methodology\'s list of attacker knowledge)')
    ap.add_argument('--codes', help='code-list folder (municipalities.csv, placement_codes.csv)')
    ap.add_argument('--batch-cols', type=int, default=1500)
    ap.add_argument('--examples', type=int, default=5)
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args(argv)
    t0 = time.time()
    deadline = t0 + a.limit_seconds if a.limit_seconds else INF
    if a.codes:
        load_codes(a.codes)
    global USE_SUMSQ
    USE_SUMSQ = a.ci_sumsq
    notes = []
    timings = {}
    rows, ks, nfiles = read_published(a.run_dir, notes)
    timings['read'] = time.time() - t0
    if a.k is not None:
        k = a.k
    elif len(ks) == 1:
        k = ks.pop()
    elif not ks:
        print('no skolegang.disclosure_k in the Parquet footers; pass --k', file=sys.stderr)
        return 2
    else:
        print(f'conflicting skolegang.disclosure_k values {sorted(ks)}; pass --k', file=sys.stderr)
        return 2
    t = time.time()
    m = build_model(rows, k, notes)
    finalize(m)
    propagate(m)
    build_quantities(m)
    timings['model'] = time.time() - t
    t = time.time()
    lo, hi, status, qconst, st = solve_ranges(m, not a.exact, deadline, a.batch_cols, not a.quiet)
    timings['lp'] = time.time() - t
    exp = exposures(m, lo, hi, status)
    rank_findings, n_rank = check_rankings(a.run_dir, m, notes)
    truth_findings, truth_stats = [], {}
    if a.truth:
        t = time.time()
        truth = read_truth(a.run_dir, notes)
        truth_findings, truth_stats = truth_check(m, truth, lo, hi, status, qconst)
        timings['truth'] = time.time() - t
        for f in exp:   # annotate the possible exposures with the true value
            if 'quantity' in f:
                terms = m.quants[f['quantity']][1]
                tvals = [m.truth_values[v] for v, _ in terms]
                if not any(math.isnan(x) for x in tvals):
                    f['true'] = round(sum(a_ * x for (_, a_), x in zip(terms, tvals)), 6)
    timings['total'] = time.time() - t0

    n_withheld = sum(1 for c in m.cells if c['suppressed'])
    n_derived = int((m.derived & ~m.vabsent).sum())
    summary = {
        'run_dir': a.run_dir, 'k': k, 'files': nfiles, 'rows': len(rows),
        'withheld_cells': n_withheld, 'published_cells': len(m.cells) - n_withheld,
        'absent_cells_inferred': m.n_absent, 'variables': len(m.vkey), 'relations': int(m.nrow),
        'window_relations': m.n_window_rel,
        'withheld_count_variables': len(m.withheld_vars),
        'derived_by_substitution': n_derived,
        'quantities': len(m.quants), **st, 'ranking_rows_checked': n_rank,
        'mode': ('exact' if a.exact else 'fast (stop when a witness shows >= k wide)')
                + (' + interval sums of squares' if a.ci_sumsq else ''),
        'timings_s': {kk: round(v, 2) for kk, v in timings.items()},
        'status_counts': {s: int((status == s).sum()) for s in sorted(set(status.tolist()))},
        **({'truth': truth_stats} if a.truth else {}),
    }
    by_class = defaultdict(list)
    for f in exp:
        by_class[f['class']].append(f)
    for f in rank_findings + m.inconsistencies + truth_findings:
        by_class[f['class']].append(f)

    # ---- human summary
    P = print
    P(f'Skolegang disclosure attacker (independent) - {a.run_dir}')
    P(f'  k = {k}; {len(rows)} published rows in {nfiles} files; {n_withheld} withheld, '
      f'{len(m.cells) - n_withheld} published; {m.n_absent} absent cells inferred (= 0)')
    P(f"  {len(m.vkey)} count variables, {m.nrow} relations; {len(m.withheld_vars)} counts of withheld "
      f"cells; {st['unknown_vars']} unknown after substitution ({n_derived} recovered exactly by "
      f"substitution)")
    P(f"  {len(m.quants)} quantities (counts + nested differences); {st.get('components', 0)} "
      f"components (largest {st.get('largest_component', 0)}), {st.get('batches', 0)} LP models, "
      f"{st.get('lps', 0)} LPs solved; mode {summary['mode']}")
    P(f"  status: {summary['status_counts']}; time {timings['total']:.1f} s "
      f"(read {timings['read']:.1f}, model {timings['model']:.1f}, LP {timings['lp']:.1f})")
    if st.get('stopped'):
        P(f"  STOPPED by --limit-seconds after {st['quantities_done']}/{st['quantities_total']} "
          'quantities; the rest are not checked')
    if a.truth:
        P(f"  truth: {truth_stats}")
    exposed_classes = [c for c in by_class if c.startswith(('count:', 'difference:'))
                       or c in ('published_small_difference', 'published_primary')]
    other_classes = [c for c in by_class if c not in exposed_classes]
    n_exposed = sum(len(by_class[c]) for c in exposed_classes)
    P('')
    P(f'EXPOSED (possible, published-only view: range narrower than k and lower end below k): '
      f'{n_exposed}')
    for c in sorted(exposed_classes):
        P(f'  {c}: {len(by_class[c])}')
        for f in by_class[c][:a.examples]:
            P('     ' + fmt_finding(f))
    P('')
    P(f'Other findings: {sum(len(by_class[c]) for c in other_classes)}')
    for c in sorted(other_classes):
        P(f'  {c}: {len(by_class[c])}')
        for f in by_class[c][:a.examples]:
            P('     ' + fmt_finding(f))
    if notes and not a.quiet:
        P('')
        P('Notes:')
        for n in dict.fromkeys(notes):
            P('  ' + n[:300])

    if a.json:
        ranges = []
        for qi, (kind, terms) in enumerate(m.quants):
            v = terms[0][0]
            d = describe_var(m, v)
            if kind == 'd':
                d['count'] = f'{m.vkey[v][0]} - {m.vkey[terms[1][0]][0]}'
            d.update({'range': rng(lo[qi], hi[qi]), 'status': status[qi]})
            ranges.append(d)
        with open(a.json, 'w', encoding='utf-8') as f:
            json.dump({'summary': summary, 'findings': {c: v for c, v in by_class.items()},
                       'notes': list(dict.fromkeys(notes)), 'ranges': ranges}, f, ensure_ascii=False,
                      indent=1, default=lambda o: o.item() if hasattr(o, 'item') else str(o))
    hard = [c for c in other_classes if c.startswith(('ranking_not', 'ranking_N', 'requirement_violation',
                                                       'model_sanity', 'inconsistent', 'infeasible',
                                                       'withheld_row', 'published_but_primary',
                                                       'published_differs', 'duplicate_row',
                                                       'truth_inconsistent', 'ranking_window'))]
    if a.truth and not a.strict:
        bad = bool(hard) or bool(by_class.get('published_primary')) or \
            bool(by_class.get('published_small_difference'))
    else:
        bad = n_exposed > 0 or bool(hard)
    P('')
    if a.truth:
        nv = sum(len(v) for c, v in by_class.items() if c.startswith('requirement_violation'))
        P(f'RESULT: {nv} requirement violations (truth), {n_exposed} possible exposures '
          f'(published-only), {len(rank_findings)} ranking findings, '
          f'{sum(len(by_class[c]) for c in hard)} findings that fail the run')
    else:
        P(f'RESULT: {n_exposed} possible exposures, {len(rank_findings)} ranking findings, '
          f'{len(m.inconsistencies)} inconsistencies')
    if bad:
        return 1
    if st.get('stopped'):
        return 3
    return 0


def fmt_finding(f):
    parts = []
    for key in ('indicator', 'indicators', 'period', 'year', 'geo_code', 'geo_name', 'group',
                'placement', 'municipality_code', 'measure', 'count', 'true', 'range', 'detail'):
        val = f.get(key)
        if isinstance(val, np.generic):
            val = val.item()
        if val is not None and not (isinstance(val, (str, list)) and len(val) == 0):
            if key == 'true' and isinstance(val, float) and val == int(val):
                val = int(val)
            if key == 'indicators':
                val = ','.join(val)
            if key == 'group':
                val = f"{f['group']}/{f.get('placement', '')}"
            if key == 'placement':
                continue
            parts.append(f'{key}={val}')
    return ' '.join(parts)


if __name__ == '__main__':
    sys.exit(main())
