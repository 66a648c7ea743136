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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A folder of NumPy files that holds one problem (q.npy, k.npy, v.npy and NAME.npy per declared
 * input) and, after a run, its results (out.npy and, for softmax patterns, lse.npy).
 */
final class NpyFolder {
    private NpyFolder() {}

    record Tensors(Tensor q, Tensor k, Tensor v, Map<String, Tensor> inputs) {}

    static Tensors read(Path folder, Pattern pattern) throws IOException {
        if (!Files.isDirectory(folder)) throw new UserError("--inputs " + folder + ": no such folder");
        Tensor q = readOne(folder, "q", pattern), k = readOne(folder, "k", pattern), v = readOne(folder, "v", pattern);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), readOne(folder, input.name(), pattern));
        return new Tensors(q, k, v, inputs);
    }

    private static Tensor readOne(Path folder, String name, Pattern pattern) throws IOException {
        Path file = folder.resolve(name + ".npy");
        if (!Files.isRegularFile(file)) {
            String expected = pattern.inputs().stream().map(i -> i.name() + ".npy").collect(Collectors.joining(", "));
            throw new UserError("--inputs " + folder + ": missing " + name + ".npy; expected q.npy, k.npy, v.npy"
                    + (expected.isEmpty() ? "" : " and " + expected));
        }
        return Npy.read(file);
    }

    /** Writes the problem's tensors and the result, so the run can be repeated with --inputs or compared elsewhere. */
    static void save(Path folder, Problem problem, Result result) throws IOException {
        Files.createDirectories(folder);
        Npy.write(folder.resolve("q.npy"), problem.q());
        Npy.write(folder.resolve("k.npy"), problem.k());
        Npy.write(folder.resolve("v.npy"), problem.v());
        for (var input : problem.inputs().entrySet()) Npy.write(folder.resolve(input.getKey() + ".npy"), input.getValue());
        int[] outShape = result.outShape();
        Npy.write(folder.resolve("out.npy"), Tensor.ofFloats(DType.FLOAT32, outShape, result.out()));
        if (result.lse() != null) {
            int[] lseShape = {outShape[0], outShape[1], outShape[2]};
            Npy.write(folder.resolve("lse.npy"), Tensor.ofFloats(DType.FLOAT32, lseShape, result.lse()));
        }
    }
}
