#include "index_tools/encoder_options.h"

#include <cstdio>

#include "core/error.h"

namespace xmr::cli {

namespace {

std::string shortest(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", double(v));
  return b;
}

}  // namespace

void add_encoder_options(po::options_description& o) {
  const DeepMatcherParams d;
  o.add_options()
      ("encoder", po::value<std::string>()->default_value("none"),
       "none | deep: deep adds the deep matcher, a text encoder trained against the label tree (coarse levels "
       "first) whose embedding stands beside the TF-IDF features (README, \"Deep matcher\")")
      ("encoder-dim", po::value<int>()->default_value(d.encoder.dim), "deep matcher: embedding size")
      ("encoder-layers", po::value<int>()->default_value(d.encoder.layers), "deep matcher: residual layers (0..8)")
      ("encoder-epochs", po::value<int>()->default_value(d.encoder.epochs), "deep matcher: passes per tree level")
      ("encoder-loss", po::value<std::string>()->default_value(d.encoder.softmax ? "softmax" : "hinge"),
       "deep matcher: hinge | softmax over each level's candidate clusters")
      ("encoder-lr", po::value<float>()->default_value(d.encoder.learning_rate, shortest(d.encoder.learning_rate)), "deep matcher: Adam's learning rate")
      ("encoder-dropout", po::value<float>()->default_value(d.encoder.feature_dropout, shortest(d.encoder.feature_dropout)),
       "deep matcher: share of a row's features hidden in each epoch")
      ("encoder-weight", po::value<float>()->default_value(d.weight, shortest(d.weight)), "deep matcher: scale of the embedding beside TF-IDF")
      ("encoder-folds", po::value<int>()->default_value(d.folds),
       "deep matcher: 2..10 embeds each training row by an encoder trained without its fold (K more encoder "
       "trainings); 0 = by the one encoder");
}

DeepMatcherParams deep_matcher_params_from(const po::variables_map& vm) {
  DeepMatcherParams d;
  const std::string kind = vm["encoder"].as<std::string>();
  if (kind != "none" && kind != "deep") throw Error("unknown --encoder '" + kind + "' (known: none, deep)");
  d.enabled = kind == "deep";
  d.encoder.dim = vm["encoder-dim"].as<int>();
  d.encoder.layers = vm["encoder-layers"].as<int>();
  d.encoder.epochs = vm["encoder-epochs"].as<int>();
  const std::string loss = vm["encoder-loss"].as<std::string>();
  if (loss != "hinge" && loss != "softmax") throw Error("unknown --encoder-loss '" + loss + "' (known: hinge, softmax)");
  d.encoder.softmax = loss == "softmax";
  d.encoder.learning_rate = vm["encoder-lr"].as<float>();
  d.encoder.feature_dropout = vm["encoder-dropout"].as<float>();
  d.weight = vm["encoder-weight"].as<float>();
  d.folds = vm["encoder-folds"].as<int>();
  try {
    d.validate();
  } catch (const Error& e) {
    throw Error(std::string("--encoder deep: ") + e.what());
  }
  for (const char* name : {"encoder-dim", "encoder-layers", "encoder-epochs", "encoder-loss", "encoder-lr",
                           "encoder-dropout", "encoder-weight", "encoder-folds"}) {
    if (!d.enabled && !vm[name].defaulted()) throw Error(std::string("--") + name + " needs --encoder deep");
  }
  return d;
}

}  // namespace xmr::cli
