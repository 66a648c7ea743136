package attnc.analysis;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.Sizes;
import attnc.pass.FoldConstants;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Inputs for any pattern's visibility, made from the declarations alone, so the exactness table
 * covers every example that reads data: a tensor tested with {@code in} holds selected block
 * indices (each row includes its own block, so causal selections are not empty), a tensor whose
 * last dimension is a sequence holds packed documents (ids renumbered at random when its name
 * says "shuffled"), and other int tensors hold values in [0, Nkv] (lengths, windows). Symbolic
 * sizes are 3.
 */
final class LaunchInputs {
    private LaunchInputs() {}

    static final int SYMBOLIC_SIZE = 3;

    /** The standard sizes plus every symbolic size the inputs declare. */
    static Map<String, Integer> sizes(Pattern pattern, Map<String, Integer> standard) {
        Map<String, Integer> sizes = new HashMap<>(standard);
        for (Input input : pattern.inputs()) {
            for (Expr dim : input.shape()) {
                ExprTree.any(dim, e -> {
                    if (e instanceof Expr.SizeRef(String n) && !Sizes.STANDARD.contains(n)) sizes.putIfAbsent(n, SYMBOLIC_SIZE);
                    return false;
                });
            }
        }
        return Map.copyOf(sizes);
    }

    static Map<String, Tensor> make(Pattern pattern, Map<String, Integer> sizes, Random random) {
        Set<String> members = new HashSet<>(), loaded = new HashSet<>();
        ExprTree.any(pattern.visibility(), e -> {
            if (e instanceof Expr.Member m) members.add(m.input());
            if (e instanceof Expr.Load l) loaded.add(l.input());
            return false;
        });
        Map<String, Tensor> tensors = new HashMap<>();
        for (Input input : pattern.inputs()) {
            if (!members.contains(input.name()) && !loaded.contains(input.name())) continue;
            int[] shape = input.shape().stream().mapToInt(d -> evaluate(d, sizes)).toArray();
            int n = Math.toIntExact(Tensor.elementCount(shape));
            int last = shape[shape.length - 1];
            boolean sequence = last == sizes.get("Nkv") || last == sizes.get("Nq");
            Tensor t;
            if (input.dtype().loadsAs() == attnc.ir.Type.FLOAT) {
                float[] data = new float[n];
                for (int i = 0; i < n; i++) data[i] = random.nextFloat() * 4 - 2;
                t = Tensor.ofFloats(input.dtype(), shape, data);
            } else if (input.dtype() == DType.BOOL) {
                t = Tensor.ofInts(DType.BOOL, shape, random.ints(n, 0, 2).toArray());
            } else if (members.contains(input.name())) {
                t = Tensor.ofInts(DType.INT32, shape, selections(shape, sizes.get("Nkv"), random));
            } else if (sequence) {
                t = Tensor.ofInts(DType.INT32, shape, documents(n, last, input.name().contains("shuffled"), random));
            } else {
                t = Tensor.ofInts(DType.INT32, shape, random.ints(n, 0, sizes.get("Nkv") + 1).toArray());
            }
            tensors.put(input.name(), t);
        }
        return tensors;
    }

    /** Rows of block indices: the row's own index (its query block), then random blocks or -1 padding. */
    private static int[] selections(int[] shape, int nkv, Random random) {
        int width = shape[shape.length - 1], rowsPerBlock = shape.length >= 2 ? shape[shape.length - 2] : 1;
        int[] sel = new int[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < sel.length; i++) {
            int row = i / width;
            sel[i] = i % width == 0 ? row % rowsPerBlock : random.nextInt(nkv / 64 + 2) - 1;
        }
        return sel;
    }

    /** Packed documents of about 150 tokens per row of the sequence; ids renumbered at random if asked. */
    private static int[] documents(int n, int length, boolean shuffled, Random random) {
        int[] ids = new int[n];
        int id = 0;
        for (int i = 0; i < n; i++) {
            if (i % length == 0) id = 0;
            else if (random.nextInt(150) == 0) id++;
            ids[i] = id;
        }
        if (!shuffled) return ids;
        int[] renumber = new int[Arrays.stream(ids).max().orElse(0) + 1];
        for (int i = 0; i < renumber.length; i++) renumber[i] = i;
        for (int i = renumber.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1), t = renumber[i];
            renumber[i] = renumber[j];
            renumber[j] = t;
        }
        for (int i = 0; i < n; i++) ids[i] = renumber[ids[i]];
        return ids;
    }

    private static int evaluate(Expr dim, Map<String, Integer> sizes) {
        Expr e = ExprTree.rewrite(dim, x -> x instanceof Expr.SizeRef(String n) ? new Expr.IntLit(sizes.get(n)) : x);
        if (FoldConstants.fold(e, Map.of()) instanceof Expr.IntLit(int v)) return v;
        throw new IllegalStateException("cannot evaluate dimension " + attnc.ir.Printer.expr(dim));
    }
}
