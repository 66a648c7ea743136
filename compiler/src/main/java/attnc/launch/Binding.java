package attnc.launch;

import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Type;
import attnc.pass.FoldConstants;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Everything a launch fixes: the sizes (standard and symbolic), the query offset and every
 * param's value. Built by checking a {@link Problem} against a pattern; every mismatch is a
 * {@link ShapeException} naming what was expected and what came, before any kernel runs: shapes,
 * dtypes, params, the output's memory, and the index ranges of every load of an input
 * ({@link attnc.analysis.IndexRanges}).
 *
 * <p>Every binding, however it is made, keeps positions within int32: the last query position
 * {@code Q0 + Nq - 1} and the offset itself, so no kernel or analysis meets a wrapped position.
 */
public record Binding(Map<String, Integer> sizes, int queryOffset, Map<String, Expr> params) {

    public Binding {
        long end = (long) queryOffset + sizes.getOrDefault("Nq", 0);
        if (queryOffset < 0 || end > Integer.MAX_VALUE) {
            throw new ShapeException("query positions Q0 .. Q0 + Nq - 1 = " + queryOffset + " .. " + (end - 1)
                    + " do not fit in int32; expected Q0 >= 0 and Q0 + Nq <= " + Integer.MAX_VALUE);
        }
    }

    public int size(String name) { return sizes.get(name); }

    public static Binding of(Pattern pattern, Problem problem) {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        Tensor q = problem.q(), k = problem.k(), v = problem.v();
        requireRank("q", q, 4, "[B, H, Nq, D]");
        requireRank("k", k, 4, "[B, Hkv, Nkv, D]");
        requireRank("v", v, 4, "[B, Hkv, Nkv, Dv]");
        sizes.put("B", q.dim(0));
        sizes.put("H", q.dim(1));
        sizes.put("Nq", q.dim(2));
        sizes.put("D", q.dim(3));
        sizes.put("Hkv", k.dim(1));
        sizes.put("Nkv", k.dim(2));
        sizes.put("Dv", v.dim(3));
        int[] expectedK = {q.dim(0), k.dim(1), k.dim(2), q.dim(3)};
        if (!Arrays.equals(k.shape(), expectedK)) {
            throw new ShapeException("k: expected shape " + Arrays.toString(expectedK) + " [B, Hkv, Nkv, D] to match q " + q.shapeText() + ", got " + k.shapeText());
        }
        int[] expectedV = {q.dim(0), k.dim(1), k.dim(2), v.dim(3)};
        if (!Arrays.equals(v.shape(), expectedV)) {
            throw new ShapeException("v: expected shape " + Arrays.toString(expectedV) + " [B, Hkv, Nkv, Dv] to match k " + k.shapeText() + ", got " + v.shapeText());
        }
        if (k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0) {
            throw new ShapeException("heads: H = " + q.dim(1) + " must be a multiple of Hkv = " + k.dim(1) + " (GQA/MQA)");
        }
        for (var entry : Map.of("q", q, "k", k, "v", v).entrySet()) {
            if (entry.getValue().dtype().loadsAs() != Type.FLOAT) {
                throw new ShapeException(entry.getKey() + ": expected a float dtype (float32, bfloat16, float16), got " + entry.getValue().dtype());
            }
        }
        requireDeclared(pattern, problem.inputs());
        int offset = problem.queryOffset() >= 0 ? problem.queryOffset() : Math.max(0, k.dim(2) - q.dim(2));
        sizes.put("Q0", offset);
        for (Input input : pattern.inputs()) bindInput(input, problem.inputs().get(input.name()), sizes);
        Binding binding = new Binding(Map.copyOf(sizes), offset, params(pattern, problem.params()));
        requireOutputMemory(binding);
        attnc.analysis.IndexRanges.check(pattern, binding, problem.inputs());
        return binding;
    }

    /** Refuses a tensor given for an input the pattern does not declare. */
    static void requireDeclared(Pattern pattern, Map<String, Tensor> inputs) {
        for (String name : inputs.keySet()) {
            if (pattern.input(name).isEmpty()) {
                throw new ShapeException("unknown input '" + name + "'; the pattern declares "
                        + (pattern.inputs().isEmpty() ? "no inputs" : pattern.inputs().stream().map(Input::name).collect(Collectors.joining(", "))));
            }
        }
    }

    /** Every kernel returns its output [B, H, Nq, Dv] (and LSE [B, H, Nq]) in host floats: refused here if they cannot exist. */
    private static void requireOutputMemory(Binding binding) {
        long out = Memory.elements("the output [B, H, Nq, Dv]", binding.size("B"), binding.size("H"), binding.size("Nq"), binding.size("Dv"));
        long lse = (long) binding.size("B") * binding.size("H") * binding.size("Nq");
        Memory.require(4 * (out + lse), "output " + Memory.human(4 * out) + ", lse " + Memory.human(4 * lse));
    }

    static void requireRank(String name, Tensor t, int rank, String layout) {
        if (t == null) throw new ShapeException(name + ": missing; expected a tensor " + layout);
        if (t.rank() != rank) throw new ShapeException(name + ": expected rank " + rank + " " + layout + ", got shape " + t.shapeText());
    }

    private static void bindInput(Input input, Tensor tensor, Map<String, Integer> sizes) {
        bindSymbolicSizes(input, tensor, sizes);
        int[] expected = new int[tensor.rank()];
        for (int i = 0; i < expected.length; i++) expected[i] = evaluateSize(input.shape().get(i), sizes, input);
        if (!Arrays.equals(expected, tensor.shape())) {
            throw new ShapeException("input '" + input.name() + "': expected shape " + Arrays.toString(expected) + " " + declared(input) + ", got " + tensor.shapeText());
        }
    }

    /** The input's declared shape as written, e.g. {@code [B, Nkv]}. */
    static String declared(Input input) {
        return input.shape().stream().map(Printer::expr).collect(Collectors.joining(", ", "[", "]"));
    }

    /**
     * Checks that the tensor for {@code input} is present, of a dtype it loads as and of its rank,
     * and binds the symbolic sizes its bare dimensions name for the first time (a top-k count K).
     */
    static void bindSymbolicSizes(Input input, Tensor tensor, Map<String, Integer> sizes) {
        if (tensor == null) throw new ShapeException("input '" + input.name() + "' is missing; expected " + input.dtype() + declared(input));
        boolean dtypeFits = tensor.dtype() == input.dtype()
                || input.dtype().loadsAs() == Type.FLOAT && tensor.dtype().loadsAs() == Type.FLOAT;
        if (!dtypeFits) {
            throw new ShapeException("input '" + input.name() + "': expected dtype " + input.dtype() + ", got " + tensor.dtype());
        }
        if (tensor.rank() != input.shape().size()) {
            throw new ShapeException("input '" + input.name() + "': expected rank " + input.shape().size() + " " + declared(input) + ", got shape " + tensor.shapeText());
        }
        for (int i = 0; i < tensor.rank(); i++) {
            if (input.shape().get(i) instanceof Expr.SizeRef(String name) && !sizes.containsKey(name)) sizes.put(name, tensor.dim(i));
        }
    }

    static int evaluateSize(Expr dim, Map<String, Integer> sizes, Input input) {
        Map<String, Expr> known = new HashMap<>();
        Expr substituted = attnc.ir.ExprTree.rewrite(dim, e -> {
            if (e instanceof Expr.SizeRef(String name)) {
                Integer value = sizes.get(name);
                if (value == null) throw new ShapeException("input '" + input.name() + "': size " + name + " is not bound by any earlier dimension");
                return new Expr.IntLit(value);
            }
            return e;
        });
        Expr folded;
        try {
            folded = FoldConstants.foldChecked(substituted, known);
        } catch (FoldConstants.FoldException e) {
            throw new ShapeException("input '" + input.name() + "': dimension " + Printer.expr(dim) + " does not fit in int32 at these sizes (" + e.getMessage() + ")");
        }
        if (folded instanceof Expr.IntLit(int v)) return v;
        throw new ShapeException("input '" + input.name() + "': cannot evaluate dimension " + Printer.expr(dim));
    }

    /** Every param's value: the one given (converted to the param's type) or its default; an unknown name or a missing value is refused. */
    static Map<String, Expr> params(Pattern pattern, Map<String, Expr> given) {
        given.forEach((name, value) -> paramValue(pattern, name, value));
        Map<String, Expr> values = new LinkedHashMap<>();
        for (Param p : pattern.params()) {
            Expr value = given.containsKey(p.name()) ? given.get(p.name()) : p.defaultValue().orElseThrow(
                    () -> new ShapeException("param '" + p.name() + "' has no default; expected a value (" + p.type() + ")"));
            values.put(p.name(), convert(p, value));
        }
        return values;
    }

    /** A value given for a param, as a literal of the param's type (an int is accepted for a float). */
    public static Expr paramValue(Pattern pattern, String name, Expr value) {
        Param param = pattern.param(name).orElseThrow(() -> new ShapeException("unknown param '" + name + "'; the pattern declares "
                + (pattern.params().isEmpty() ? "no params" : pattern.params().stream().map(Param::name).collect(Collectors.joining(", ")))));
        return convert(param, value);
    }

    private static Expr convert(Param p, Expr value) {
        if (value.type() == p.type()) return value;
        if (p.type() == Type.FLOAT && value instanceof Expr.IntLit(int v)) return new Expr.FloatLit(v);
        throw new ShapeException("param '" + p.name() + "': expected " + p.type() + ", got " + value.type() + " " + Printer.expr(value));
    }

    /** Parses a command-line value for a param: true/false, an integer, or a number. */
    public static Expr parseValue(String text) {
        String t = text.trim();
        if (t.equals("true") || t.equals("false")) return new Expr.BoolLit(Boolean.parseBoolean(t));
        try {
            return new Expr.IntLit(Integer.parseInt(t));
        } catch (NumberFormatException notInt) {
            try {
                double d = Double.parseDouble(t);
                if (Double.isFinite(d)) return new Expr.FloatLit(d);
            } catch (NumberFormatException notNumber) {
                // reported below
            }
        }
        throw new ShapeException("cannot read param value '" + text + "'; expected true, false, an integer or a number");
    }
}
