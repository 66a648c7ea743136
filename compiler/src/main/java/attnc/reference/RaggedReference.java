package attnc.reference;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.launch.BackwardLaunch;
import attnc.launch.Memory;
import attnc.launch.Partial;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import java.util.Arrays;

/**
 * The oracle for ragged, paged and split launches, in double precision and as naively as
 * {@link Reference}: each row of each sequence reads its keys through the block table, in
 * chunks whose partial results are merged by their LSE, and the row is finished once.
 *
 * <ul>
 *   <li>{@link #run}: the launch. With {@code kvSplits} = n ≥ 1, chunk c of a sequence of Nkv keys
 *       covers positions ⌊c·Nkv/n⌋ .. ⌊(c+1)·Nkv/n⌋ − 1 (chunks may be empty); {@code AUTO_SPLITS}
 *       is one chunk. A backend may place its chunk boundaries elsewhere (on its tiles or pages):
 *       the result is the same within rounding.</li>
 *   <li>{@link #partial}: the {@link Partial} over positions [kvFrom, kvTo) of every sequence
 *       (clipped to its keys), without the sink and the output transform.</li>
 *   <li>{@link #finish}: merged partials made into the launch's result: the sink logit joins the
 *       row once, as a partial (0, z), then the output transform.</li>
 * </ul>
 *
 * Outputs are [totalQ, H, Dv] and LSE [totalQ, H], row (t, h) of query row t and head h.
 */
public final class RaggedReference {
    private RaggedReference() {}

    public static Reference.Exact run(Pattern pattern, RaggedBatch batch) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        int splits = Math.max(1, binding.kvSplits());
        Rows result = new Rows(pattern, binding, true);
        for (RaggedBinding.Sequence sequence : binding.sequences()) {
            SequenceRows rows = new SequenceRows(pattern, binding, batch, sequence);
            int nkv = sequence.keys(), dv = binding.valueDim();
            double[] chunk = new double[dv], merged = new double[dv];
            rows.forEachRow((h, i, keys) -> {
                Arrays.fill(merged, 0);
                double lse = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < splits; c++) {
                    int from = (int) ((long) c * nkv / splits), to = (int) ((long) (c + 1) * nkv / splits);
                    lse = mergeInto(merged, lse, chunk, rows.partial(h, i, keys, from, to, chunk), rows.softmax);
                }
                rows.finish(h, i, merged, lse, result);
            });
        }
        return result.exact();
    }

    /** The partial over key positions [kvFrom, kvTo) of every sequence; lse null unless softmax. */
    public static Reference.Exact partial(Pattern pattern, RaggedBatch batch, int kvFrom, int kvTo) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        Rows result = new Rows(pattern, binding, false);
        for (RaggedBinding.Sequence sequence : binding.sequences()) {
            Reference.Exact own = sequencePartial(pattern, binding, batch, sequence.index(), kvFrom, kvTo);
            int count = sequence.queries() * binding.heads();
            System.arraycopy(own.out(), 0, result.out, sequence.firstQuery() * binding.heads() * binding.valueDim(), count * binding.valueDim());
            if (result.lse != null) System.arraycopy(own.lse(), 0, result.lse, sequence.firstQuery() * binding.heads(), count);
        }
        return result.exact();
    }

    /**
     * One sequence's partial over positions [kvFrom, kvTo) ∩ [0, Nkv): out [Nq, H, Dv] and lse
     * [Nq, H] (null unless softmax), for a backend that computes some keys of a row here.
     */
    public static Reference.Exact sequencePartial(Pattern pattern, RaggedBinding binding, RaggedBatch batch, int b, int kvFrom, int kvTo) {
        RaggedBinding.Sequence sequence = binding.sequences().get(b);
        SequenceRows rows = new SequenceRows(pattern, binding, batch, sequence);
        int heads = binding.heads(), dv = binding.valueDim(), nkv = sequence.keys();
        int from = Math.clamp(kvFrom, 0, nkv), to = Math.clamp(kvTo, from, nkv);
        double[] out = new double[sequence.queries() * heads * dv];
        double[] lse = rows.softmax ? new double[sequence.queries() * heads] : null;
        double[] o = new double[dv];
        rows.forEachRow((h, i, keys) -> {
            double l = rows.partial(h, i, keys, from, to, o);
            System.arraycopy(o, 0, out, (i * heads + h) * dv, dv);
            if (lse != null) lse[i * heads + h] = l;
        });
        return new Reference.Exact(out, lse, new int[] {sequence.queries(), heads, dv}, null);
    }

    /** The launch's result from its merged partial ([totalQ, H, Dv] and [totalQ, H]). */
    public static Reference.Exact finish(Pattern pattern, RaggedBatch batch, Partial merged) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        binding.requireMerged(pattern, merged);
        float[] out = merged.out().floats(), lse = merged.lse() == null ? null : merged.lse().floats();
        Rows result = new Rows(pattern, binding, true);
        int heads = binding.heads(), dv = binding.valueDim();
        double[] o = new double[dv];
        for (RaggedBinding.Sequence sequence : binding.sequences()) {
            SequenceRows rows = new SequenceRows(pattern, binding, batch, sequence);
            for (int i = 0; i < sequence.queries(); i++) {
                for (int h = 0; h < heads; h++) {
                    int row = (sequence.firstQuery() + i) * heads + h;
                    for (int d = 0; d < dv; d++) o[d] = out[row * dv + d];
                    rows.finish(h, i, o, lse == null ? 0 : lse[row], result);
                }
            }
        }
        return result.exact();
    }

    /**
     * Merges a partial (o, lse) into (acc, accLse) by the LSE rule ({@link attnc.launch.Merge});
     * plain sums without softmax. Returns the merged LSE.
     */
    static double mergeInto(double[] acc, double accLse, double[] o, double lse, boolean softmax) {
        if (!softmax) {
            for (int d = 0; d < acc.length; d++) acc[d] += o[d];
            return 0;
        }
        double top = Math.max(accLse, lse);
        if (top == Double.NEGATIVE_INFINITY) return top;
        double keep = Math.exp(accLse - top), add = Math.exp(lse - top), sum = keep + add;
        for (int d = 0; d < acc.length; d++) acc[d] = (acc[d] * keep + o[d] * add) / sum;
        return top + Math.log(sum);
    }

    /** The launch's outputs in double, filled row by row. */
    private static final class Rows {
        final double[] out, lse, preOutput;
        final int[] shape;

        Rows(Pattern pattern, RaggedBinding binding, boolean finished) {
            int rows = binding.totalQueries() * binding.heads();
            boolean transformed = finished && BackwardLaunch.needsPreOutput(pattern);
            Memory.require(8L * rows * (binding.valueDim() * (transformed ? 2L : 1L) + 1), "the reference's double-precision output and LSE");
            out = new double[Math.toIntExact(Memory.elements("the output [totalQ, H, Dv]", rows, binding.valueDim()))];
            lse = pattern.norm() instanceof Norm.Softmax ? new double[rows] : null;
            preOutput = transformed ? new double[out.length] : null;
            shape = new int[] {binding.totalQueries(), binding.heads(), binding.valueDim()};
        }

        Reference.Exact exact() { return new Reference.Exact(out, lse, shape, preOutput); }
    }

    /** One sequence's rows: the pattern's parts compiled against its binding, and its keys per KV head. */
    private static final class SequenceRows {
        interface RowBody { void row(int h, int i, Keys keys); }

        /** One KV head's keys and values of the sequence, [Nkv, D] and [Nkv, Dv]. */
        record Keys(float[] k, float[] v) {}

        final boolean softmax;
        private final Pattern pattern;
        private final RaggedBinding binding;
        private final RaggedBatch batch;
        private final RaggedBinding.Sequence sequence;
        private final Evaluator.Env env = new Evaluator.Env();
        private final Evaluator.BoolFn visible;
        private final Evaluator.FloatFn score, scale, output, normValue;
        private final double[] scores, query;
        private final boolean[] kept;

        SequenceRows(Pattern pattern, RaggedBinding binding, RaggedBatch batch, RaggedBinding.Sequence sequence) {
            this.pattern = pattern;
            this.binding = binding;
            this.batch = batch;
            this.sequence = sequence;
            this.softmax = pattern.norm() instanceof Norm.Softmax;
            Evaluator evaluator = new Evaluator(sequence.binding(), sequence.inputs());
            visible = evaluator.bools(pattern.visibility());
            score = evaluator.floats(pattern.score());
            scale = evaluator.floats(pattern.scale());
            output = evaluator.floats(pattern.output());
            normValue = switch (pattern.norm()) {
                case Norm.Softmax(var sink) -> sink.map(evaluator::floats).orElse(null);
                case Norm.Sigmoid(Expr bias) -> evaluator.floats(bias);
                case Norm.Identity() -> null;
            };
            scores = new double[sequence.keys()];
            query = new double[binding.headDim()];
            kept = new boolean[sequence.keys()];
            env.b = sequence.index();
        }

        /** Every (head, query) row of the sequence, grouped by KV head so each head's keys are gathered once. */
        void forEachRow(RowBody body) {
            int group = binding.heads() / binding.kvHeads(), nkv = sequence.keys(), b = sequence.index();
            for (int hk = 0; hk < binding.kvHeads(); hk++) {
                Keys keys = new Keys(binding.gather(batch.cache().k(), b, hk, 0, nkv), binding.gather(batch.cache().v(), b, hk, 0, nkv));
                for (int h = hk * group; h < (hk + 1) * group; h++) for (int i = 0; i < sequence.queries(); i++) body.row(h, i, keys);
            }
        }

        /**
         * The partial of row (h, query i) over positions [from, to) into {@code o}: normalised over
         * those keys with their LSE returned (−∞ and o = 0 when none is visible), or the plain sum
         * of weighted values without softmax (0 returned).
         */
        double partial(int h, int i, Keys keys, int from, int to, double[] o) {
            int d = binding.headDim(), dv = binding.valueDim(), qRow = (sequence.firstQuery() + i) * binding.heads() + h;
            env.h = h;
            env.q = sequence.queryOffset() + i;
            double rowScale = scale.eval(env);
            for (int t = 0; t < d; t++) query[t] = batch.q().getDouble(qRow * d + t);
            double max = Double.NEGATIVE_INFINITY;
            for (int kv = from; kv < to; kv++) {
                env.kv = kv;
                kept[kv] = visible.eval(env);
                if (!kept[kv]) continue;
                double dot = 0;
                for (int t = 0; t < d; t++) dot += query[t] * keys.k()[kv * d + t];
                env.s = rowScale * dot;
                scores[kv] = score.eval(env);
                max = Math.max(max, scores[kv]);
            }
            Arrays.fill(o, 0);
            if (softmax && max == Double.NEGATIVE_INFINITY) return max;
            double bias = pattern.norm() instanceof Norm.Sigmoid ? normValue.eval(env) : 0, sum = 0;
            for (int kv = from; kv < to; kv++) {
                if (!kept[kv]) continue;
                double w = switch (pattern.norm()) {
                    case Norm.Softmax ignored -> Math.exp(scores[kv] - max);
                    case Norm.Sigmoid ignored -> attnc.ir.Semantics.sigmoid(scores[kv] + bias);
                    case Norm.Identity ignored -> scores[kv];
                };
                sum += w;
                for (int c = 0; c < dv; c++) o[c] += w * keys.v()[kv * dv + c];
            }
            if (!softmax) return 0;
            for (int c = 0; c < dv; c++) o[c] /= sum;
            return max + Math.log(sum);
        }

        /** The merged row (o, lse) finished: the sink joins once, then the output transform; written to row (t, h). */
        void finish(int h, int i, double[] o, double lse, Rows result) {
            int dv = binding.valueDim(), row = (sequence.firstQuery() + i) * binding.heads() + h;
            env.h = h;
            env.q = sequence.queryOffset() + i;
            // The sink is one more partial, (0, z), merged once.
            if (softmax && normValue != null) lse = mergeInto(o, lse, new double[dv], normValue.eval(env), true);
            if (result.lse != null) result.lse[row] = lse;
            for (int d = 0; d < dv; d++) {
                env.d = d;
                env.o = o[d];
                result.out[row * dv + d] = output.eval(env);
                if (result.preOutput != null) result.preOutput[row * dv + d] = o[d];
            }
        }
    }
}
