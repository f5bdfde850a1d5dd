/**
 * Metrics against values worked out by hand (the working is in the comments) or published examples
 * (sklearn documentation). No expected value here comes from running the code under test.
 */
import { describe, expect, it } from 'vitest';
import { isDeptError } from '@dept/core';
import {
  METRICS_BY_TASK,
  accuracy,
  binaryF1,
  computeMetrics,
  f1ScoreWithInvalid,
  macroF1,
  matthewsCorrcoef,
  metricSpecFor,
  multircScores,
  normalizeSquad,
  parsePythonFloat,
  pearsonCorrcoef,
  pySplit,
  pythonFloatRepr,
  qaScores,
  rankAverage,
  rintHalfEven,
  selectionMetric,
  spearmanCorrcoef,
  squadTokenF1,
  stringToFloat,
} from '../src/metrics.ts';

function expectDeptError(f: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isDeptError(err)).toBe(true);
  expect((err as Error).message).toMatch(pattern);
}

function expectClose(actual: Record<string, number>, expected: Record<string, number>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected)); // same keys, same order
  for (const [k, v] of Object.entries(expected)) expect(actual[k]).toBeCloseTo(v, 10);
}

describe('statistics', () => {
  it('accuracy is string equality', () => {
    expect(accuracy(['1', '0', 'x'], ['1', '1', 'x'])).toBeCloseTo(2 / 3, 15);
  });

  it('matthews: sklearn docs example [+1,+1,+1,-1] vs [+1,-1,+1,+1] = -1/3', () => {
    // y_true = targets, y_pred = predictions; cov = 2*4 - (3*3 + 1*1) = -2; var = 16 - 10 = 6 each
    expect(matthewsCorrcoef(['+1', '-1', '+1', '+1'], ['+1', '+1', '+1', '-1'])).toBeCloseTo(-1 / 3, 15);
  });

  it('matthews: constant predictions give 0, perfect gives 1', () => {
    expect(matthewsCorrcoef(['1', '1', '1', '1'], ['1', '0', '1', '0'])).toBe(0);
    expect(matthewsCorrcoef(['1', '0', '1', '0'], ['1', '0', '1', '0'])).toBe(1);
  });

  it('matthews: an invalid generation is its own class (sklearn on strings)', () => {
    // labels 0,1,x; t_sum {1:2, 0:2}; p_sum {1:2, 0:1, x:1}; correct 2, n 4
    // cov_ytyp = 8 - (2*2 + 2*1) = 2; cov_ypyp = 16 - 6 = 10; cov_ytyt = 16 - 8 = 8 -> 2 / sqrt(80)
    expect(matthewsCorrcoef(['1', '0', 'x', '1'], ['1', '0', '1', '0'])).toBeCloseTo(2 / Math.sqrt(80), 15);
  });

  it('macro F1: sklearn docs example y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1] = 0.2666..', () => {
    // per class: 0 -> tp 2, fp 1, fn 0 -> 0.8; 1 -> 0; 2 -> 0
    const yTrue = ['0', '1', '2', '0', '1', '2'];
    const yPred = ['0', '2', '1', '0', '0', '1'];
    expect(macroF1(yPred, yTrue, ['0', '1', '2'])).toBeCloseTo(0.8 / 3, 15);
    expect(macroF1(yPred, yTrue)).toBeCloseTo(0.8 / 3, 15); // default labels = union
  });

  it('binary F1 = 2tp / (2tp + fp + fn), 0 without positives', () => {
    expect(binaryF1(['1', '1', '0', '0'], ['1', '0', '1', '0'])).toBe(0.5);
    expect(binaryF1(['0', '0'], ['0', '0'])).toBe(0);
  });

  it('f1_score_with_invalid flips an invalid prediction to the opposite of its target', () => {
    // ['1','yes','maybe'] vs ['1','1','0'] -> preds 1, 0, 1 -> tp 1, fn 1, fp 1 -> 2 / 4
    expect(f1ScoreWithInvalid(['1', 'yes', 'maybe'], ['1', '1', '0'])).toBe(0.5);
    expectDeptError(() => f1ScoreWithInvalid(['1'], ['2']), /expected '0' or '1'/);
  });

  it('average ranks for ties', () => {
    expect(rankAverage([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
    expect(rankAverage([3, 3, 3])).toEqual([2, 2, 2]);
    expect(rankAverage([Infinity, 1, -Infinity])).toEqual([3, 2, 1]);
  });

  it('pearson by hand: [1,2,3] vs [2,4,7] = 15 / sqrt(228)', () => {
    // xm = [-1,0,1], ym = [-7/3,-1/3,8/3]; sum = 5; |xm|^2 = 2, |ym|^2 = 114/9 -> 5 / sqrt(228/9)
    expect(pearsonCorrcoef([1, 2, 3], [2, 4, 7])).toBeCloseTo(15 / Math.sqrt(228), 14);
  });

  it('spearman with ties by hand: [1,2,2,3] vs [1,3,2,4] = 3 / sqrt(10)', () => {
    // ranks [1,2.5,2.5,4] and [1,3,2,4]; centred [-1.5,0,0,1.5], [-1.5,.5,-.5,1.5]; 4.5 / sqrt(4.5 * 5)
    expect(spearmanCorrcoef([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(3 / Math.sqrt(10), 14);
    // no ties: 1 - 6 * 2 / (4 * 15) = 0.8
    expect(spearmanCorrcoef([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 14);
  });

  /** |actual − exact| ≤ one unit in the last place of the double nearest the exact value (given in decimal). */
  const expectWithinUlp = (actual: number, exact: string) => {
    const e = Number(exact);
    const ulp = 2 ** (Math.floor(Math.log2(Math.abs(e))) - 52);
    expect(Math.abs(actual - e), `${actual} vs exact ${exact}`).toBeLessThanOrEqual(ulp);
  };

  it('pearson is exact on nearly constant inputs, where float64 centring is not (issue 15)', () => {
    // Exact values: Python fractions.Fraction over the doubles themselves, square root in decimal at 50 digits.
    // A collapsed STS-B model: 3.8 and a few ulps of it. scipy 1.10 gives -0.010278396155716497 here.
    const near = [3.8, 3.8, 3.8000000000000007, 3.8, 3.8, 3.8, 3.8, 3.8, 3.8, 3.8000000000000003, 3.8, 3.8];
    const gold = [1.7, 3.5, 1.4, 1.3, 1.1, 4.3, 4.4, 4.0, 1.1, 4.6, 2.6, 1.2];
    expectWithinUlp(pearsonCorrcoef(near, gold), '-0.040196437622958254967336849285462111903430876004179');
    // 1 + k·2^-52: the old one-pass mean gave 0.4497503904518414, scipy 0.36721965607483853.
    const ulps = [0, 1, 1, 2, 0, 3, 1, 2].map((k) => 1 + k * 2 ** -52);
    expectWithinUlp(pearsonCorrcoef(ulps, [3, 1, 4, 1, 5, 9, 2, 6]), '0.464500205912070813985253332750705564757535945645575');
    // magnitudes from 1e-300 to 1e20 in one sample
    expectWithinUlp(pearsonCorrcoef([1e-300, 2.5, -7.25e10, 3.0, 1e15 + 1, 0.1], [4.0, -1e-10, 2.0, 1e20, 0.5, 0.25]), '-0.19998259974775261900589733038667089831000154954646');
  });

  it('pearson of two points is exactly ±1 (the old form gave 0.9999999999999999)', () => {
    expect(pearsonCorrcoef([3.0374025258781767, 1.2412177243532907], [3.265673525717724, 2.788239769847599])).toBe(1);
    expect(pearsonCorrcoef([4.36132097985465, 0.32000398709038147], [0.12342857545511787, 4.134445650530417])).toBe(-1);
    expect(pearsonCorrcoef([0.3, 0.1], [2.2, 5.9])).toBe(-1);
  });

  it('pearson and spearman agree with scipy 1.10 on ordinary STS-B-like scores', () => {
    // (x, y, scipy pearsonr, exact pearson, scipy spearmanr); tolerance: one ulp of the exact value, 1e-15 for spearman
    const cases: [number[], number[], number, string, number][] = [
      [[4.7, 2.6, 4.9, 0.4, 3.0, 1.9, 4.0, 0.9, 4.4, 2.7], [4.5, 2.4, 2.2, 3.9, 4.9, 1.8, 4.8, 4.6, 0.9, 3.0], -0.20337008863010506, '-0.20337008863010507008696115626954148138183276007879', -0.11515151515151514],
      [[4.0, 4.0, 2.6, 1.4, 0.3, 1.9, 2.0, 0.2, 0.2, 5.0], [3.3, 1.2, 2.2, 4.9, 4.5, 4.2, 2.0, 2.5, 3.4, 0.3], -0.6502339127328425, '-0.65023391273284240800538921043474726212395213657329', -0.6524511536514414],
    ];
    for (const [x, y, scipyR, exact, scipyRho] of cases) {
      expectWithinUlp(pearsonCorrcoef(x, y), exact);
      expect(Math.abs(pearsonCorrcoef(x, y) - scipyR)).toBeLessThan(1e-15);
      expect(Math.abs(spearmanCorrcoef(x, y) - scipyRho)).toBeLessThan(1e-15);
    }
    expect(Math.abs(spearmanCorrcoef([3.8, 3.8, 4.0, 1.2, 1.2, 1.2, 5.0], [4.0, 3.2, 3.2, 1.0, 2.2, 1.0, 4.6]) - 0.8860760232362958)).toBeLessThan(1e-15);
  });

  it('correlations of a constant input are NaN (scipy), of NaN input NaN', () => {
    expect(pearsonCorrcoef([1, 2, 3], [2, 2, 2])).toBeNaN();
    expect(spearmanCorrcoef([1, 2, 3], [2, 2, 2])).toBeNaN();
    expect(pearsonCorrcoef([1], [2])).toBeNaN();
    expect(spearmanCorrcoef([1, 2, Number.NaN], [1, 2, 3])).toBeNaN();
    expect(pearsonCorrcoef([1, 2, Number.POSITIVE_INFINITY], [1, 2, 3])).toBeNaN();
  });
});

describe('Python semantics helpers', () => {
  it('float() parsing', () => {
    expect(parsePythonFloat(' 3.8\n')).toBe(3.8);
    expect(parsePythonFloat('1_000.5')).toBe(1000.5);
    expect(parsePythonFloat('.5')).toBe(0.5);
    expect(parsePythonFloat('5.')).toBe(5);
    expect(parsePythonFloat('-1e3')).toBe(-1000);
    expect(parsePythonFloat('-Infinity')).toBe(-Infinity);
    expect(parsePythonFloat('nan')).toBeNaN();
    for (const bad of ['', ' ', '0x10', '1__0', 'three', '1.2.3', '_1', 'e5']) expect(parsePythonFloat(bad)).toBeUndefined();
    expect(stringToFloat('similar')).toBe(-1);
  });

  it('repr(float)', () => {
    expect(pythonFloatRepr(3)).toBe('3.0');
    expect(pythonFloatRepr(0.1)).toBe('0.1');
    expect(pythonFloatRepr(0.0001)).toBe('0.0001');
    expect(pythonFloatRepr(0.00001)).toBe('1e-05');
    expect(pythonFloatRepr(1.5e-5)).toBe('1.5e-05');
    expect(pythonFloatRepr(1e16)).toBe('1e+16');
    expect(pythonFloatRepr(123456789012345.6)).toBe('123456789012345.6');
    expect(pythonFloatRepr(-0)).toBe('-0.0');
    expect(pythonFloatRepr(-2.5)).toBe('-2.5');
  });

  it('rint rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 12.5].map(rintHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 12]);
  });

  it('str.split() whitespace', () => {
    expect(pySplit(' a\u00a0b\x1cc\ufeffd ')).toEqual(['a', 'b', 'c\ufeffd']);
  });
});

describe('SQuAD normalisation and scores', () => {
  it.each([
    ['The  Eiffel-Tower!', 'eiffeltower'],
    ['An apple a day', 'apple day'],
    ['theater', 'theater'],
    ['Éthe', 'éthe'], // Python \b is Unicode-aware: no boundary between é and t
    ['A.B', 'ab'],
    ['  the   end  ', 'end'],
    ['', ''],
  ])('normalize(%j) = %j', (raw, expected) => {
    expect(normalizeSquad(raw)).toBe(expected);
  });

  it('token F1', () => {
    // 'eiffel tower' vs 'tower': precision 1/2, recall 1 -> 2/3
    expect(squadTokenF1('tower', 'eiffel tower')).toBeCloseTo(2 / 3, 15);
    // repeated tokens count once per occurrence: pred 'a a b' vs target 'a b b': common a:1 b:1 -> 2/3, 2/3
    expect(squadTokenF1('a b b', 'a a b')).toBeCloseTo(2 / 3, 15);
    expect(squadTokenF1('', '')).toBe(0);
  });

  it('EM and F1 take the max over gold answers', () => {
    // ex1 'eiffel tower' = gold -> 1/1; ex2 'london' vs ['paris','london'] -> 1/1; ex3 'in paris' vs 'paris' -> 0 / (2*.5*1/1.5 = 2/3)
    const q = qaScores(['the Eiffel Tower', 'London', 'in Paris'], [['Eiffel Tower'], ['Paris', 'london'], ['Paris']]);
    expect(q.em).toBeCloseTo(2 / 3, 15);
    expect(q.f1).toBeCloseTo((1 + 1 + 2 / 3) / 3, 15);
  });
});

describe('computeMetrics', () => {
  it('MRPC: DePT {f1, accuracy}, official {accuracy, f1}; invalid output is wrong', () => {
    // preds 1,0,'yes',1 vs 1,0,1,0: 'yes' (gold 1) -> 0: tp 1, fn 1, fp 1 -> F1 0.5; accuracy 2/4
    const preds = ['1', '0', 'yes', '1'];
    const gold = ['1', '0', '1', '0'];
    expectClose(computeMetrics('mrpc', preds, gold), { f1: 50, accuracy: 50 });
    expectClose(computeMetrics('qqp', preds, gold, { flavour: 'official' }), { accuracy: 50, f1: 50 });
  });

  it('CB: macro F1 over "0","1","2" and accuracy', () => {
    // preds 0,1,2,0,bad vs 0,1,1,2,0
    // class 0: tp 1, fp 1 (i3), fn 1 (i4) -> 1/2; class 1: tp 1, fn 1 (i2) -> 2/3; class 2: tp 0 -> 0
    // macro = (1/2 + 2/3) / 3 = 7/18; accuracy 2/5
    const preds = ['0', '1', '2', '0', 'bad'];
    const gold = ['0', '1', '1', '2', '0'];
    expectClose(computeMetrics('superglue-cb', preds, gold), { f1_multiclass: 700 / 18, accuracy: 40 });
    expectClose(computeMetrics('superglue-cb', preds, gold, { flavour: 'official' }), { accuracy: 40, f1: 700 / 18 });
  });

  it('CoLA: Matthews correlation', () => {
    expectClose(computeMetrics('cola', ['+1', '-1', '+1', '+1'], ['+1', '+1', '+1', '-1']), {
      matthews_correlation: -100 / 3,
    });
  });

  it('STS-B: pearson and spearman on float(), ties averaged', () => {
    // targets x = [1,2,2,4], preds y = [1,3,2,10]
    // pearson: xm = [-1.25,-.25,-.25,1.75], ym = [-3,-1,-2,6]; sum 15; |xm|^2 4.75, |ym|^2 50 -> 15/sqrt(237.5)
    // spearman: ranks [1,2.5,2.5,4] vs [1,3,2,4] -> 3/sqrt(10)
    expectClose(computeMetrics('stsb', ['1', '3', '2', '10'], ['1', '2', '2', '4']), {
      pearson: 1500 / Math.sqrt(237.5),
      spearmanr: 300 / Math.sqrt(10),
    });
  });

  it('STS-B: an unparsable prediction counts as -1', () => {
    // preds [-1, 2, 3] vs [1, 2, 3]: xm [-1,0,1], ym [-7/3, 2/3, 5/3]; sum 4; 2 * 78/9 -> 12 / sqrt(156)
    expectClose(computeMetrics('stsb', ['n/a', '2.0', '3.0'], ['1.0', '2.0', '3.0']), {
      pearson: 1200 / Math.sqrt(156),
      spearmanr: 100,
    });
  });

  it('STS-B: constant predictions give 0, not NaN (DePT)', () => {
    expectClose(computeMetrics('stsb', ['2.5', '2.5', '2.5'], ['1.0', '2.0', '3.0']), { pearson: 0, spearmanr: 0 });
  });

  it('accuracy tasks compare exact strings', () => {
    expectClose(computeMetrics('rte', ['0', '1', ' 1'], ['0', '1', '1']), { accuracy: 200 / 3 });
  });

  it('MultiRC: DePT flat F1; official EM per question, f1_m, f1_a', () => {
    // flat: tp 2 (i0,i3), fp 1 (i2) -> 4/5
    const preds = ['1', '0', '1', '1'];
    const gold = ['1', '0', '0', '1'];
    const groups = ['p0-q0', 'p0-q0', 'p0-q1', 'p0-q1'];
    expectClose(computeMetrics('superglue-multirc', preds, gold), { f1: 80 });
    // q0 all right, q1 not -> EM 1/2; macro F1: q0 = 1, q1 = (0 + 2/3) / 2 = 1/3 -> f1_m = 2/3
    expectClose(computeMetrics('superglue-multirc', preds, gold, { flavour: 'official', groups }), {
      exact_match: 50,
      f1_m: 200 / 3,
      f1_a: 80,
    });
    const s = multircScores(preds, gold, groups);
    expect(s.exact_match).toBe(0.5);
    expectDeptError(() => computeMetrics('superglue-multirc', preds, gold, { flavour: 'official' }), /groups/);
  });

  it('MultiRC DePT: an invalid prediction is flipped to the opposite of the gold', () => {
    // 'x' with gold 0 -> 1: tp 1, fp 1 -> 2/3
    expectClose(computeMetrics('superglue-multirc', ['1', 'x'], ['1', '0']), { f1: 200 / 3 });
  });

  it('MRQA (nq): DePT em/f1 on answers[0]; official exact_match/f1 over all golds', () => {
    // ex1: EM 1, F1 1; ex2: 'in paris france' vs 'paris': EM 0, F1 = 2*(1/3)*1/(4/3) = 1/2; ex3: '' vs 'x': 0, 0
    const preds = ['the Eiffel Tower', 'in Paris France', ''];
    const gold = ['Eiffel Tower', 'Paris', 'x'];
    expectClose(computeMetrics('nq', preds, gold), { em: 100 / 3, f1: 50 });
    const answers = [['Eiffel Tower'], ['Paris', 'in Paris, France'], ['x']];
    expectClose(computeMetrics('nq', preds, gold, { flavour: 'official', answers }), {
      exact_match: 200 / 3,
      f1: 200 / 3,
    });
  });

  it('ReCoRD: DePT scores each duplicated row; official merges rows of a query and takes the max', () => {
    // rows: (pred 'Barack Obama', gold 'Obama') EM 0, F1 2*(1/2)*1/(3/2) = 2/3;
    //       (pred 'Barack Obama', gold 'Barack Obama') 1, 1; (pred 'London', gold 'Paris') 0, 0
    const preds = ['Barack Obama', 'Barack Obama', 'London'];
    const gold = ['Obama', 'Barack Obama', 'Paris'];
    expectClose(computeMetrics('superglue-record', preds, gold), { em: 100 / 3, f1: (100 * (2 / 3 + 1)) / 3 });
    // The answer lists do not change DePT's scores: each row is scored against its own target (issue 15).
    const answers = [['Obama', 'Barack Obama'], ['Obama', 'Barack Obama'], ['Paris']];
    expectClose(computeMetrics('superglue-record', preds, gold, { answers }), { em: 100 / 3, f1: (100 * (2 / 3 + 1)) / 3 });
    expectClose(computeMetrics('nq', ['in Paris France'], ['Paris'], { answers: [['Paris', 'in Paris, France']] }), { em: 0, f1: 50 });
    // official without query groups: each row takes the max over its answers -> rows 1, 2: 1, 1; row 3: 0, 0
    expectClose(computeMetrics('superglue-record', preds, gold, { flavour: 'official', answers }), { exact_match: 200 / 3, f1: 200 / 3 });
    // official: q1 golds {Obama, Barack Obama} -> 1, 1; q2 -> 0, 0
    expectClose(
      computeMetrics('superglue-record', preds, gold, { flavour: 'official', groups: ['q1', 'q1', 'q2'] }),
      { exact_match: 50, f1: 50 },
    );
  });

  it('selection metrics follow DePT TASK_TO_METRICS[task][0] (DEPT.md §1.4)', () => {
    expect(selectionMetric('mrpc')).toBe('accuracy');
    expect(selectionMetric('qqp')).toBe('accuracy');
    expect(selectionMetric('stsb')).toBe('pearson');
    expect(selectionMetric('superglue-cb')).toBe('f1_multiclass');
    expect(selectionMetric('superglue-multirc')).toBe('f1');
    expect(selectionMetric('cola')).toBe('matthews_correlation');
    expect(selectionMetric('nq')).toBe('em');
    expect(selectionMetric('superglue-record')).toBe('f1');
    for (const t of ['rte', 'sst2', 'mnli', 'qnli', 'superglue-boolq', 'superglue-wic', 'superglue-wsc.fixed', 'scitail', 'paws']) {
      expect(selectionMetric(t)).toBe('accuracy');
    }
    for (const s of Object.values(METRICS_BY_TASK)) {
      expect(s.dept).toContain(s.selection);
      expect(s.official).toContain(s.officialSelection);
    }
  });

  it('bad input throws DeptError', () => {
    expectDeptError(() => computeMetrics('rte', ['0'], ['0', '1']), /1 predictions but 2 targets/);
    expectDeptError(() => computeMetrics('rte', [], []), /no predictions/);
    expectDeptError(() => metricSpecFor('nope'), /no metrics for task 'nope'/);
  });
});
