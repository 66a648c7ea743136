package attnc.lower;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;

/**
 * The stage between the passes and the backends: lowers each part of an optimised pattern to a
 * {@link Program}, shares its common subexpressions ({@link ShareSubexpressions}), folds it
 * ({@link FoldProgram}) and strength-reduces it ({@link StrengthReduce}), giving the one
 * {@link LoweredPattern} every kernel reads.
 */
public final class LowerPattern {
    private LowerPattern() {}

    public static LoweredPattern lower(Pattern pattern) {
        LoweredNorm norm = switch (pattern.norm()) {
            case Norm.Softmax(var sink) -> new LoweredNorm.Softmax(sink.map(e -> program(pattern, e)));
            case Norm.Sigmoid(Expr bias) -> new LoweredNorm.Sigmoid(program(pattern, bias));
            case Norm.Identity() -> new LoweredNorm.Identity();
        };
        return new LoweredPattern(pattern, program(pattern, pattern.visibility()), program(pattern, pattern.score()),
                program(pattern, pattern.scale()), norm, program(pattern, pattern.output()));
    }

    /** An expression of {@code pattern} lowered, then through the program passes every kernel's programs go through. */
    static Program program(Pattern pattern, Expr e) {
        return optimize(Lowering.lower(pattern, e));
    }

    /** The program passes, in order: sharing first, so that folding sees equal operands as one register. */
    static Program optimize(Program program) {
        return StrengthReduce.reduce(FoldProgram.fold(ShareSubexpressions.share(program)));
    }
}
