package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.tensor.Npy;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A folder of NumPy files that holds one problem (q.npy, k.npy, v.npy and NAME.npy per declared
 * input) and, after a run, its results (out.npy and, for softmax patterns, lse.npy).
 */
final class NpyFolder {
    private NpyFolder() {}

    /** {@code notes}: what was converted on reading (float64 to float32), to say once. */
    record Tensors(Tensor q, Tensor k, Tensor v, Map<String, Tensor> inputs, List<String> notes) {}

    /**
     * Reads the folder; a NaN anywhere, or an infinity in q, k or v, is refused with the file and
     * the first bad position (an infinite bias may mask on purpose; a NaN never means anything).
     */
    static Tensors read(Path folder, Pattern pattern) throws IOException {
        if (!Files.isDirectory(folder)) throw new UserError("--inputs " + folder + ": no such folder");
        List<String> notes = new ArrayList<>();
        Tensor q = readOne(folder, "q", pattern, notes), k = readOne(folder, "k", pattern, notes), v = readOne(folder, "v", pattern, notes);
        for (var named : List.of(Map.entry("q", q), Map.entry("k", k), Map.entry("v", v))) requireFinite(folder, named.getKey(), named.getValue(), true);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) {
            Tensor t = readOne(folder, input.name(), pattern, notes);
            requireFinite(folder, input.name(), t, false);
            inputs.put(input.name(), t);
        }
        return new Tensors(q, k, v, inputs, List.copyOf(notes));
    }

    private static void requireFinite(Path folder, String name, Tensor t, boolean noInfinity) {
        if (t.dtype().loadsAs() != attnc.ir.Type.FLOAT) return;
        float[] values = t.floats();
        for (int i = 0; i < values.length; i++) {
            float x = values[i];
            if (Float.isNaN(x) || noInfinity && Float.isInfinite(x)) {
                throw new UserError(folder.resolve(name + ".npy") + ": " + x + " at " + position(t.shape(), i)
                        + "; expected finite values" + (noInfinity ? "" : " (or ±Infinity)"));
            }
        }
    }

    /** The multi-index of a flat row-major position, as [i, j, ...]. */
    static String position(int[] shape, long flat) {
        long[] index = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? flat : flat / shape[d];
        }
        return java.util.Arrays.toString(index);
    }

    private static Tensor readOne(Path folder, String name, Pattern pattern, List<String> notes) throws IOException {
        Path file = folder.resolve(name + ".npy");
        if (!Files.isRegularFile(file)) {
            String expected = pattern.inputs().stream().map(i -> i.name() + ".npy").collect(Collectors.joining(", "));
            throw new UserError("--inputs " + folder + ": missing " + name + ".npy; expected q.npy, k.npy, v.npy"
                    + (expected.isEmpty() ? "" : " and " + expected));
        }
        return Npy.read(file, notes::add);
    }

    /**
     * Writes the problem's tensors and the result, so the run can be repeated with --inputs or
     * compared elsewhere; each file is written whole (see {@link OutputPaths#writeWhole}).
     */
    static void save(Path folder, Problem problem, Result result) throws IOException {
        Files.createDirectories(folder);
        write(folder.resolve("q.npy"), problem.q());
        write(folder.resolve("k.npy"), problem.k());
        write(folder.resolve("v.npy"), problem.v());
        for (var input : problem.inputs().entrySet()) write(folder.resolve(input.getKey() + ".npy"), input.getValue());
        int[] outShape = result.outShape();
        write(folder.resolve("out.npy"), Tensor.ofFloats(DType.FLOAT32, outShape, result.out()));
        if (result.lse() != null) {
            int[] lseShape = {outShape[0], outShape[1], outShape[2]};
            write(folder.resolve("lse.npy"), Tensor.ofFloats(DType.FLOAT32, lseShape, result.lse()));
        }
    }

    private static void write(Path file, Tensor tensor) throws IOException {
        OutputPaths.writeWhole(file, partial -> Npy.write(partial, tensor));
    }
}
