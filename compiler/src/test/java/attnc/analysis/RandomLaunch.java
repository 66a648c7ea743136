package attnc.analysis;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * A small random launch for the masks of {@link MaskGenerator}: sizes not multiples of the tiles,
 * a random query offset, params, and inputs large enough that every generated load is in range
 * (P covers every q and kv position; sel covers every q / C).
 */
record RandomLaunch(Pattern pattern, Binding binding, Map<String, Tensor> inputs) {

    static RandomLaunch of(Expr visibility, Random random) {
        int batch = 1 + random.nextInt(2), heads = 1 + random.nextInt(2);
        int nkv = 1 + random.nextInt(70);
        int nq = 1 + random.nextInt(50);
        int offset = random.nextInt(4) == 0 ? 0 : random.nextInt(nkv + 8);
        int positions = Math.max(nkv, offset + nq);
        int chunk = 1 + random.nextInt(16), width = 1 + random.nextInt(4);
        int chunks = (offset + nq - 1) / chunk + 1;
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", batch, "H", heads, "Hkv", heads, "Nq", nq, "Nkv", nkv,
                "D", 8, "Dv", 8, "P", positions, "C", chunk, "S", chunks));
        sizes.put("K", width);
        Map<String, Expr> params = Map.of("w", new Expr.IntLit(random.nextInt(40) - 4),
                "temp", new Expr.FloatLit(random.nextDouble() * 4 - 2), "flagp", new Expr.BoolLit(random.nextBoolean()));
        Map<String, Tensor> inputs = Map.of(
                "doc", Tensor.ofInts(DType.INT32, new int[] {batch, positions}, documents(batch, positions, random)),
                "len", Tensor.ofInts(DType.INT32, new int[] {batch}, random.ints(batch, 0, nkv + 2).toArray()),
                "flag", Tensor.ofInts(DType.BOOL, new int[] {batch, positions}, flags(batch * positions, random)),
                "bias", Tensor.ofFloats(DType.FLOAT32, new int[] {heads, positions}, floats(heads * positions, random)),
                "sel", Tensor.ofInts(DType.INT32, new int[] {batch, heads, chunks, width},
                        random.ints((long) batch * heads * chunks * width, -1, nkv / Math.max(1, chunk) + 2).toArray()));
        Pattern pattern = Pattern.of("random", visibility)
                .withParams(List.of(new Param("w", Type.INT, Optional.empty(), ""), new Param("temp", Type.FLOAT, Optional.empty(), ""),
                        new Param("flagp", Type.BOOL, Optional.empty(), "")))
                .withInputs(List.of(
                        input("doc", DType.INT32, "B", "P"), input("len", DType.INT32, "B"), input("flag", DType.BOOL, "B", "P"),
                        input("bias", DType.FLOAT32, "H", "P"), input("sel", DType.INT32, "B", "H", "S", "K")));
        return new RandomLaunch(pattern, new Binding(Map.copyOf(sizes), offset, params), inputs);
    }

    private static Input input(String name, DType dtype, String... dims) {
        return new Input(name, dtype, java.util.Arrays.stream(dims).<Expr>map(Expr.SizeRef::new).toList(), "");
    }

    /** Runs (packed documents) with ids sorted or in random order, or scattered small ids. */
    private static int[] documents(int batch, int positions, Random random) {
        int[] ids = new int[batch * positions];
        int kind = random.nextInt(3);
        for (int b = 0; b < batch; b++) {
            int id = random.nextInt(9);
            for (int p = 0; p < positions; p++) {
                if (kind == 2) {
                    ids[b * positions + p] = random.nextInt(6);
                    continue;
                }
                if (random.nextInt(12) == 0) id = kind == 0 ? id + 1 : random.nextInt(9);
                ids[b * positions + p] = id;
            }
        }
        return ids;
    }

    private static int[] flags(int n, Random random) {
        int[] f = new int[n];
        int run = random.nextInt(3);
        for (int i = 0; i < n; i++) f[i] = run == 0 ? random.nextInt(2) : run == 1 ? 1 : (i / 7) % 2;
        return f;
    }

    private static float[] floats(int n, Random random) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = random.nextFloat() * 4 - 2;
        return f;
    }
}
