package attnc.ir;

import java.util.List;
import java.util.Optional;

/**
 * One attention pattern, checked. The kernel computes, for every (b, h, q):
 * s = scale·q·k, then {@link #score}, keeps kv where {@link #mask} and {@link #select} hold,
 * normalises with {@link #norm}, sums V with the weights, and applies {@link #output}.
 */
public record Pattern(
        String name,
        String doc,
        List<Param> params,
        List<Input> inputs,
        Expr mask,
        Optional<Expr> select,
        Expr score,
        Expr scale,
        Norm norm,
        Expr output,
        Optional<Tile> tile) {

    public Pattern {
        params = List.copyOf(params);
        inputs = List.copyOf(inputs);
    }

    /** 1/sqrt(D), the scale when the pattern names none. */
    public static final Expr DEFAULT_SCALE = new Expr.Binary(BinaryOp.DIV, new Expr.FloatLit(1.0),
            new Expr.Call(Builtin.SQRT, List.of(new Expr.Call(Builtin.FLOAT, List.of(new Expr.SizeRef("D"))))));

    public static final Norm DEFAULT_NORM = new Norm.Softmax(Optional.empty());

    /** A dense softmax pattern with the given mask; the {@code with...} methods change one part. */
    public static Pattern of(String name, Expr mask) {
        return new Pattern(name, "", List.of(), List.of(), mask, Optional.empty(), new Expr.ScoreRef(),
                DEFAULT_SCALE, DEFAULT_NORM, new Expr.OutputRef(), Optional.empty());
    }

    public Pattern withParams(List<Param> p) { return new Pattern(name, doc, p, inputs, mask, select, score, scale, norm, output, tile); }
    public Pattern withInputs(List<Input> i) { return new Pattern(name, doc, params, i, mask, select, score, scale, norm, output, tile); }
    public Pattern withMask(Expr m) { return new Pattern(name, doc, params, inputs, m, select, score, scale, norm, output, tile); }
    public Pattern withSelect(Optional<Expr> s) { return new Pattern(name, doc, params, inputs, mask, s, score, scale, norm, output, tile); }
    public Pattern withScore(Expr s) { return new Pattern(name, doc, params, inputs, mask, select, s, scale, norm, output, tile); }
    public Pattern withScale(Expr s) { return new Pattern(name, doc, params, inputs, mask, select, score, s, norm, output, tile); }
    public Pattern withNorm(Norm n) { return new Pattern(name, doc, params, inputs, mask, select, score, scale, n, output, tile); }
    public Pattern withOutput(Expr o) { return new Pattern(name, doc, params, inputs, mask, select, score, scale, norm, o, tile); }
    public Pattern withTile(Optional<Tile> t) { return new Pattern(name, doc, params, inputs, mask, select, score, scale, norm, output, t); }
    public Pattern withDoc(String d) { return new Pattern(name, d, params, inputs, mask, select, score, scale, norm, output, tile); }

    /** The mask and the selection together: what decides visibility. */
    public Expr visibility() {
        return select.<Expr>map(s -> new Expr.Binary(BinaryOp.AND, mask, s)).orElse(mask);
    }

    public Optional<Input> input(String inputName) {
        return inputs.stream().filter(i -> i.name().equals(inputName)).findFirst();
    }

    public Optional<Param> param(String paramName) {
        return params.stream().filter(p -> p.name().equals(paramName)).findFirst();
    }
}
