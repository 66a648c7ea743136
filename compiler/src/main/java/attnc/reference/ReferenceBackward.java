package attnc.reference;

import attnc.grad.Derivatives;
import attnc.grad.DifferentiatePattern;
import attnc.grad.LoadPartial;
import attnc.grad.Section;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Semantics;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The backward oracle: the gradients of {@link Reference}'s forward in double precision, row by
 * row from the dense weights. Each row recomputes the forward exactly (scores, weights P, LSE, o)
 * instead of reading the float32 O and LSE of the forward's {@link Result}, so the gradients are
 * those of the exact function; the result is still checked, as every backend needs it. The
 * pattern's own derivatives come from the derivative pass ({@link DifferentiatePattern}),
 * evaluated by the same {@link Evaluator} as the forward.
 */
public final class ReferenceBackward {

    /**
     * Gradients in double precision, in {@link Wrt#all} order, with their shapes; for each input's
     * gradient also the sum of its terms' magnitudes, element by element ({@code magnitudes}, Σ
     * |upstream × partial|): what a floating-point sum of those terms has its rounding relative to,
     * however much they cancel.
     */
    public record Exact(Map<Wrt, double[]> values, Map<Wrt, int[]> shapes, Map<Wrt, double[]> magnitudes) {
        public Exact(Map<Wrt, double[]> values, Map<Wrt, int[]> shapes) {
            this(values, shapes, Map.of());
        }

        public Gradients toGradients() {
            Map<Wrt, Tensor> tensors = new LinkedHashMap<>();
            values.forEach((wrt, v) -> {
                float[] f = new float[v.length];
                for (int i = 0; i < f.length; i++) f[i] = (float) v[i];
                tensors.put(wrt, Tensor.ofFloats(DType.FLOAT32, shapes.get(wrt), f));
            });
            return new Gradients(tensors);
        }
    }

    /** One load site's partial, compiled, and where its products and their magnitudes go. */
    private record Accumulation(Evaluator.FloatFn partial, Evaluator.IntFn offset, double[] into, double[] magnitude) {}

    private final Pattern pattern;
    private final Problem problem;
    private final Tensor dOut;
    private final int batch, heads, nq, headDim, kvHeads, nkv, valueDim, queryOffset;
    private final Evaluator.BoolFn visible;
    private final Evaluator.FloatFn score, scale, normValue, scoreByS, outputByO;
    private final Map<Section, List<Accumulation>> partials = new EnumMap<>(Section.class);
    private final double[] dq, dk, dv;
    private final Map<String, double[]> inputGradients = new LinkedHashMap<>(), inputMagnitudes = new LinkedHashMap<>();
    private final Evaluator.Env env = new Evaluator.Env();
    // One row's values, reused.
    private final double[] dot, scaled, logits, weights, dLogits, o, dO;
    private final boolean[] kept;

    private ReferenceBackward(Pattern pattern, Problem problem, BackwardLaunch launch) {
        this.pattern = pattern;
        this.problem = problem;
        this.dOut = launch.dOut();
        Binding binding = launch.binding();
        batch = binding.size("B");
        heads = binding.size("H");
        nq = binding.size("Nq");
        headDim = binding.size("D");
        kvHeads = binding.size("Hkv");
        nkv = binding.size("Nkv");
        valueDim = binding.size("Dv");
        queryOffset = binding.queryOffset();
        Evaluator evaluator = new Evaluator(binding, problem.inputs());
        Derivatives derivatives = DifferentiatePattern.differentiate(pattern);
        visible = evaluator.bools(pattern.visibility());
        score = evaluator.floats(pattern.score());
        scale = evaluator.floats(pattern.scale());
        normValue = switch (pattern.norm()) {
            case Norm.Softmax(var sink) -> sink.map(evaluator::floats).orElse(null);
            case Norm.Sigmoid(Expr bias) -> evaluator.floats(bias);
            case Norm.Identity none -> null;
        };
        scoreByS = evaluator.floats(derivatives.scoreByS());
        outputByO = evaluator.floats(derivatives.outputByO());
        for (Wrt w : launch.wanted()) {
            if (w instanceof Wrt.Input(String name)) {
                inputGradients.put(name, new double[problem.inputs().get(name).size()]);
                inputMagnitudes.put(name, new double[problem.inputs().get(name).size()]);
            }
        }
        for (Section section : Section.values()) partials.put(section, new ArrayList<>());
        for (LoadPartial p : derivatives.loads()) {
            double[] into = inputGradients.get(p.input());
            if (into != null) {
                partials.get(p.section()).add(new Accumulation(evaluator.floats(p.partial()), evaluator.offset(p.load()), into, inputMagnitudes.get(p.input())));
            }
        }
        dq = new double[problem.q().size()];
        dk = new double[problem.k().size()];
        dv = new double[problem.v().size()];
        dot = new double[nkv];
        scaled = new double[nkv];
        logits = new double[nkv];
        weights = new double[nkv];
        dLogits = new double[nkv];
        kept = new boolean[nkv];
        o = new double[valueDim];
        dO = new double[valueDim];
    }

    /**
     * The gradients asked for, given the forward's result on the same problem and dOut
     * [B, H, Nq, Dv]; arguments that do not fit the pattern are refused ({@link BackwardLaunch#of}).
     */
    public static Exact run(Pattern pattern, Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
        BackwardLaunch launch = BackwardLaunch.of(pattern, problem, forward, dOut, wanted);
        return new ReferenceBackward(pattern, problem, launch).run(launch.wanted());
    }

    private Exact run(Set<Wrt> wanted) {
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < nq; i++) row(b, h, i);
            }
        }
        Map<Wrt, double[]> values = new LinkedHashMap<>();
        Map<Wrt, int[]> shapes = new LinkedHashMap<>();
        Map<Wrt, double[]> magnitudes = new LinkedHashMap<>();
        for (Wrt w : Wrt.all(pattern)) {
            if (!wanted.contains(w)) continue;
            switch (w) {
                case Wrt.Operand operand -> {
                    Tensor of = switch (operand) { case Q -> problem.q(); case K -> problem.k(); case V -> problem.v(); };
                    values.put(w, switch (operand) { case Q -> dq; case K -> dk; case V -> dv; });
                    shapes.put(w, of.shape());
                }
                case Wrt.Input(String name) -> {
                    values.put(w, inputGradients.get(name));
                    magnitudes.put(w, inputMagnitudes.get(name));
                    shapes.put(w, problem.inputs().get(name).shape());
                }
            }
        }
        return new Exact(values, shapes, magnitudes);
    }

    private void row(int b, int h, int i) {
        env.b = b;
        env.h = h;
        env.q = queryOffset + i;
        int row = (b * heads + h) * nq + i;
        int qBase = row * headDim;
        int kvBase = (b * kvHeads + h / (heads / kvHeads)) * nkv;
        float[] qs = problem.q().floats(), ks = problem.k().floats(), vs = problem.v().floats();
        double rowScale = scale.eval(env);
        for (int kv = 0; kv < nkv; kv++) {
            env.kv = kv;
            kept[kv] = visible.eval(env);
            if (!kept[kv]) continue;
            double x = 0;
            for (int c = 0; c < headDim; c++) x += (double) qs[qBase + c] * ks[(kvBase + kv) * headDim + c];
            dot[kv] = x;
            scaled[kv] = env.s = rowScale * x;
            logits[kv] = score.eval(env);
        }
        double sinkWeight = weigh();

        // The output transform: dOut becomes dO, the gradient with respect to o.
        Arrays.fill(o, 0);
        for (int kv = 0; kv < nkv; kv++) {
            if (!kept[kv]) continue;
            for (int d = 0; d < valueDim; d++) o[d] += weights[kv] * vs[(kvBase + kv) * valueDim + d];
        }
        for (int d = 0; d < valueDim; d++) {
            env.d = d;
            env.o = o[d];
            double upstream = dOut.getDouble(row * valueDim + d);
            dO[d] = upstream * outputByO.eval(env);
            accumulate(Section.OUTPUT, upstream);
        }

        // o = Σ P·V: dV += P·dO, dP = dO·V.
        for (int kv = 0; kv < nkv; kv++) {
            if (!kept[kv]) continue;
            double dP = 0;
            for (int d = 0; d < valueDim; d++) {
                int at = (kvBase + kv) * valueDim + d;
                dP += dO[d] * vs[at];
                dv[at] += weights[kv] * dO[d];
            }
            dLogits[kv] = dP;
        }
        normBackward(sinkWeight);

        // The score: dS becomes ds through d score/d s, then dq, dk and the scale's gradient.
        double dScale = 0;
        for (int kv = 0; kv < nkv; kv++) {
            if (!kept[kv]) continue;
            env.kv = kv;
            env.s = scaled[kv];
            double ds = dLogits[kv] * scoreByS.eval(env);
            accumulate(Section.SCORE, dLogits[kv]);
            double dx = ds * rowScale;
            int kBase = (kvBase + kv) * headDim;
            for (int c = 0; c < headDim; c++) {
                dq[qBase + c] += dx * ks[kBase + c];
                dk[kBase + c] += dx * qs[qBase + c];
            }
            dScale += ds * dot[kv];
        }
        accumulate(Section.SCALE, dScale);
    }

    /** The row's weights P from its logits; returns the sink's share of the softmax mass (0 without a sink). */
    private double weigh() {
        switch (pattern.norm()) {
            case Norm.Softmax softmax -> {
                double sink = normValue == null ? Double.NEGATIVE_INFINITY : normValue.eval(env);
                double m = sink;
                for (int kv = 0; kv < nkv; kv++) if (kept[kv]) m = Math.max(m, logits[kv]);
                if (m == Double.NEGATIVE_INFINITY) {
                    // Nothing visible and no sink: the row is 0, and so are its gradients.
                    Arrays.fill(weights, 0);
                    return 0;
                }
                double sum = Math.exp(sink - m);
                for (int kv = 0; kv < nkv; kv++) if (kept[kv]) sum += weights[kv] = Math.exp(logits[kv] - m);
                for (int kv = 0; kv < nkv; kv++) if (kept[kv]) weights[kv] /= sum;
                return Math.exp(sink - m) / sum;
            }
            case Norm.Sigmoid sigmoid -> {
                double bias = normValue.eval(env);
                for (int kv = 0; kv < nkv; kv++) if (kept[kv]) weights[kv] = Semantics.sigmoid(logits[kv] + bias);
                return 0;
            }
            case Norm.Identity none -> {
                System.arraycopy(logits, 0, weights, 0, nkv);
                return 0;
            }
        }
    }

    /** dP (in dLogits) becomes dS, the gradient with respect to the score's value; the norm value's gradient is added. */
    private void normBackward(double sinkWeight) {
        switch (pattern.norm()) {
            case Norm.Softmax softmax -> {
                // rowsum(dO∘o) = Σ P·dP: the mass every logit gives back by raising the denominator.
                double delta = 0;
                for (int kv = 0; kv < nkv; kv++) if (kept[kv]) delta += weights[kv] * dLogits[kv];
                for (int kv = 0; kv < nkv; kv++) if (kept[kv]) dLogits[kv] = weights[kv] * (dLogits[kv] - delta);
                if (normValue != null) accumulate(Section.NORM, -sinkWeight * delta);
            }
            case Norm.Sigmoid sigmoid -> {
                double dBias = 0;
                for (int kv = 0; kv < nkv; kv++) {
                    if (!kept[kv]) continue;
                    dLogits[kv] *= weights[kv] * (1 - weights[kv]);
                    dBias += dLogits[kv];
                }
                accumulate(Section.NORM, dBias);
            }
            case Norm.Identity none -> { }
        }
    }

    /** Adds upstream × partial into each wanted input's gradient, at the element each load site reads, and its magnitude beside it. */
    private void accumulate(Section section, double upstream) {
        for (Accumulation a : partials.get(section)) {
            int at = a.offset().eval(env);
            double term = upstream * a.partial().eval(env);
            a.into()[at] += term;
            a.magnitude()[at] += Math.abs(term);
        }
    }
}
