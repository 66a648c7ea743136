package attnc.jvm.serving;

import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Input;
import attnc.ir.Norm;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Type;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A pattern made fit to compute one sequence of a ragged launch, or one chunk of its keys, with
 * the dense kernel: three int params are added and and-ed into the mask,
 *
 * <pre>  b == sequence && kv >= kvFrom && kv < kvTo</pre>
 *
 * so that a dense launch whose batch holds the batch's B indices computes only batch index
 * {@code sequence}'s rows (the block-sparsity analysis sees the params at launch and skips every
 * other batch index and every key outside the chunk: nothing outside them is read). The pattern
 * still sees b and B as the ragged launch defines them.
 *
 * <p>For a chunk ({@link #partial}), the sink and the output transform are dropped as well: a
 * {@link attnc.launch.Partial} has neither, they join once after the merge.
 *
 * @param sequence, kvFrom, kvTo the added params' names (unused by the pattern)
 */
record SequencePattern(Pattern pattern, String sequence, String kvFrom, String kvTo) {

    /** The whole computation of a sequence's rows, sink and output transform included. */
    static SequencePattern whole(Pattern pattern) { return restrict(pattern); }

    /** A chunk's partial: the same restriction, without the sink and the output transform. */
    static SequencePattern partial(Pattern pattern) {
        SequencePattern restricted = restrict(pattern);
        Pattern bare = restricted.pattern().withOutput(new Expr.OutputRef());
        if (bare.norm() instanceof Norm.Softmax) bare = bare.withNorm(new Norm.Softmax(Optional.empty()));
        return new SequencePattern(bare, restricted.sequence(), restricted.kvFrom(), restricted.kvTo());
    }

    /** The added params' values: sequence b, keys [from, to). */
    Map<String, Expr> values(int b, int from, int to) {
        return Map.of(sequence, new Expr.IntLit(b), kvFrom, new Expr.IntLit(from), kvTo, new Expr.IntLit(to));
    }

    private static SequencePattern restrict(Pattern pattern) {
        Set<String> taken = new HashSet<>();
        pattern.params().forEach(p -> taken.add(p.name()));
        pattern.inputs().stream().map(Input::name).forEach(taken::add);
        String sequence = fresh("sequence", taken), from = fresh("kv_from", taken), to = fresh("kv_to", taken);
        Expr kv = new Expr.IndexRef(Index.KV);
        Expr only = and(new Expr.Binary(BinaryOp.EQ, new Expr.IndexRef(Index.B), param(sequence)),
                and(new Expr.Binary(BinaryOp.GE, kv, param(from)), new Expr.Binary(BinaryOp.LT, kv, param(to))));
        List<Param> params = new ArrayList<>(pattern.params());
        for (String name : List.of(sequence, from, to)) params.add(new Param(name, Type.INT, Optional.empty(), "added for a ragged launch"));
        return new SequencePattern(pattern.withParams(params).withMask(and(pattern.mask(), only)), sequence, from, to);
    }

    private static String fresh(String name, Set<String> taken) {
        String candidate = name;
        while (taken.contains(candidate)) candidate += "_";
        taken.add(candidate);
        return candidate;
    }

    private static Expr param(String name) { return new Expr.ParamRef(name, Type.INT); }

    private static Expr and(Expr left, Expr right) { return new Expr.Binary(BinaryOp.AND, left, right); }
}
