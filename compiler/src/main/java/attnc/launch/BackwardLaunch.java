package attnc.launch;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Everything a backward launch receives besides the pattern: the forward's binding, the result
 * forward gave on the same problem, dOut and the gradients asked for. Built by checking them
 * against the pattern, as {@link Binding#of} checks a forward launch: every mismatch is a
 * {@link ShapeException} naming what was expected and what came, before any kernel runs.
 */
public record BackwardLaunch(Binding binding, Result forward, Tensor dOut, Set<Wrt> wanted) {

    public BackwardLaunch {
        wanted = Collections.unmodifiableSet(new LinkedHashSet<>(wanted));
    }

    public static BackwardLaunch of(Pattern pattern, Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
        Binding binding = Binding.of(pattern, problem);
        int rows = binding.size("B") * binding.size("H") * binding.size("Nq");
        int[] outShape = {binding.size("B"), binding.size("H"), binding.size("Nq"), binding.size("Dv")};
        String outText = Arrays.toString(outShape) + " [B, H, Nq, Dv]";
        if (dOut == null) throw new ShapeException("dOut: missing; expected a tensor " + outText);
        if (!Arrays.equals(dOut.shape(), outShape)) throw new ShapeException("dOut: expected shape " + outText + ", got " + dOut.shapeText());
        if (dOut.dtype().loadsAs() != Type.FLOAT) {
            throw new ShapeException("dOut: expected a float dtype (float32, bfloat16, float16), got " + dOut.dtype());
        }
        if (forward == null) throw new ShapeException("forward result: missing; expected the Result of forward on this problem");
        requireLength("out", forward.out(), rows * outShape[3], outText);
        if (pattern.norm() instanceof Norm.Softmax) {
            if (forward.lse() == null) throw new ShapeException("forward result: a softmax pattern's backward needs its LSE [B, H, Nq]; got none");
            requireLength("lse", forward.lse(), rows, "[B, H, Nq]");
        }
        if (needsPreOutput(pattern)) {
            if (forward.preOutput() == null) {
                throw new ShapeException("forward result: the output transform's backward needs o, the weighted sum before it (Result.preOutput); got none");
            }
            requireLength("preOutput", forward.preOutput(), rows * outShape[3], outText);
        }
        if (wanted == null) throw new ShapeException("wanted: missing; expected the gradients to compute (Wrt.all(pattern) for every one)");
        Set<Wrt> available = Wrt.all(pattern);
        for (Wrt w : wanted) {
            if (!available.contains(w)) throw new ShapeException(noGradient(pattern, w, available));
        }
        return new BackwardLaunch(binding, forward, dOut, wanted);
    }

    /** Whether the pattern's output transform is more than {@code o}, so that backward needs {@link Result#preOutput}. */
    public static boolean needsPreOutput(Pattern pattern) {
        return !(pattern.output() instanceof Expr.OutputRef);
    }

    private static void requireLength(String field, float[] values, int expected, String shape) {
        if (values == null || values.length != expected) {
            throw new ShapeException("forward result: expected " + field + " of " + expected + " values " + shape + ", got "
                    + (values == null ? "none" : values.length) + " (pass the Result of forward on this problem)");
        }
    }

    private static String noGradient(Pattern pattern, Wrt w, Set<Wrt> available) {
        String have = available.stream().map(Wrt::label).collect(Collectors.joining(", "));
        String name = ((Wrt.Input) w).name();
        String why = pattern.input(name).map(input -> input.dtype().loadsAs() != Type.FLOAT
                        ? "input '" + name + "' is " + input.dtype() + ", and only float inputs have gradients"
                        : "input '" + name + "' is read only by the mask or selection, which have no gradient")
                .orElse("the pattern has no input '" + name + "'");
        return "no gradient for '" + name + "': " + why + "; the pattern's gradients are " + have;
    }
}
