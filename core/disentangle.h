// Label disentanglement (Liu et al., NeurIPS 2021): a label whose instances
// the trained matcher sends to several leaf clusters is copied into those
// clusters, so beam search can reach it from each side.
//
// One round, given a model trained on `tree`:
//   1. run the matcher (beam search over the levels above the labels) on
//      every training instance: its top `matcher_beam_size` leaf clusters;
//   2. for each positive (instance, label) whose label sits in none of the
//      instance's top `reach` clusters, vote for the instance's best cluster;
//   3. visit (label, cluster, votes) by decreasing votes and add the label to
//      the cluster while the label has fewer than `max_copies` clusters, the
//      votes reach `min_votes`, and the cluster stays within the leaf bound
//      (1 + leaf_growth) x the largest leaf of the original tree;
//   4. optionally (route_positives), route each positive (instance, label)
//      pair to one copy of its label: the one in the cluster the matcher
//      ranks highest for that instance (every copy when none is in its beam).
//      The matcher is then taught to send the instance to that cluster only,
//      not to every cluster holding the label: the "fruit" cluster need not
//      attract the "computer" instances of "apple". Routed models are smaller
//      (up to 14% fewer weights on the shared sets); unrouted ones were more
//      accurate on 4 of 6 sets (README), so routing is off by default.
// Labels without votes keep their leaf; no label ever loses one. The levels
// are then retrained on the new tree (see train_model_parts).
#pragma once

#include <cstddef>
#include <string>

#include "core/inference.h"
#include "core/label_tree.h"
#include "core/sparse.h"

namespace xmr {

struct DisentangleParams {
  int max_copies = 1;         // K: leaf clusters a label may sit in; 1 = off
  int rounds = 1;             // count-reassign-retrain rounds
  int matcher_beam_size = 10; // clusters the matcher keeps per instance
  int reach = 1;              // a label in one of the top `reach` clusters counts as reached
  size_t min_votes = 2;       // fewer votes never add a copy
  double leaf_growth = 0.25;  // leaves may grow to (1 + growth) x the largest original leaf
  bool route_positives = false;  // step 4; off: an instance is a positive of every cluster holding its label

  bool enabled() const { return max_copies > 1; }
  void validate() const;  // throws xmr::Error naming the bad field
};

struct DisentangleRound {
  size_t missed = 0;        // positive (instance, label) pairs voting
  size_t copies_added = 0;  // label copies added this round
};

struct DisentangledTree {
  LabelTree tree;
  // N x slots of `tree`: row i holds the slots instance i is a positive of
  // (step 4). Empty when routing is off or nothing changed: then every slot
  // of each of an instance's labels is a positive.
  CsrMatrix slot_positives;
};

// One round: the new tree for `tree` given the model trained on it (`matcher`
// is that model's TreeView, searched with `post` on `threads` threads). Leaves
// keep their order; within a leaf the original labels come first, then the new
// copies by label id. Returns `tree` unchanged (and no routing) when nothing
// qualifies. `original_max_leaf` is the largest leaf of the tree before any
// round (the growth bound is relative to it).
DisentangledTree disentangle_tree(const LabelTree& tree, const TreeView& matcher, const CsrMatrix& X,
                                  const CsrMatrix& Y, const DisentangleParams& params, size_t original_max_leaf,
                                  int threads, PostProcessor post, DisentangleRound* round = nullptr);

// Largest number of labels in one leaf cluster of `tree`.
size_t max_leaf_size(const LabelTree& tree);

}  // namespace xmr
